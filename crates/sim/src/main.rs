//! `packbench-sim`: runs the UPS sim on its own (for trying the real client by hand).

use clap::Parser;

#[derive(Parser)]
#[command(about = "Packbench's UPS sim on loopback")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// Seconds from label to delivered.
    #[arg(long, default_value_t = 120)]
    transit_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    let sim = packbench_sim::UpsSim::new(packbench_sim::UpsSimConfig {
        transit_secs: args.transit_secs,
        ..Default::default()
    })?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let cfg = sim.config();
    println!(
        "UPS sim on http://{} (client id {}, secret {}, account {})",
        listener.local_addr()?,
        cfg.client_id,
        cfg.client_secret,
        cfg.account_number
    );
    axum::serve(listener, sim.router()).await?;
    Ok(())
}
