fn main() {
    // The window's UI is embedded from ui/dist (tauri.conf.json): it must be built first.
    if !std::path::Path::new("ui/dist/index.html").exists() {
        panic!(
            "the station UI is not built: run `make ui` (or `cd ui && npm ci && npm run build`) first"
        );
    }
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*"),
    )
    .expect("failed to run tauri-build");
}
