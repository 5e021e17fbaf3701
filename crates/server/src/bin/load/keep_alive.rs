//! One keep-alive HTTP/1.1 connection to the hub, for the operations phases: each request
//! written with one write, each answer's head read with `httparse`, no pool and no task of
//! its own.
//!
//! The generator shares the machine's two cores with the hub and its database, so what it
//! spends is taken from them and shows in the latencies it measures. Through reqwest (hyper's
//! pooled client: a pool checkout, a URL parsed and a connection task woken per request) it
//! spent 0.15-0.19 ms of CPU per paced operation, two thirds of the hub's own; through this,
//! 0.09-0.13 ms (BENCHMARKS.md, 2026-12-04).

use std::fmt::Write as _;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most header lines read from an answer (the hub sends about five).
const MAX_HEADERS: usize = 32;

pub struct Connection {
    /// `host:port`, for `connect` and the `Host` header.
    authority: String,
    token: String,
    stream: Option<TcpStream>,
    request: String,
    answer: Vec<u8>,
}

/// An answer's status and where its body lies in the connection's buffer.
struct Head {
    status: u16,
    body: std::ops::Range<usize>,
    close: bool,
}

impl Connection {
    /// A connection to `authority` (`host:port`), opened at its first request, sending
    /// `token` with each.
    pub fn new(authority: &str, token: &str) -> Self {
        Self {
            authority: authority.to_owned(),
            token: token.to_owned(),
            stream: None,
            request: String::with_capacity(512),
            answer: Vec::with_capacity(8192),
        }
    }

    /// `POST path` with a JSON `body` (empty: none): the answer's status and body.
    pub async fn post(&mut self, path: &str, body: &str) -> anyhow::Result<(u16, &[u8])> {
        self.request.clear();
        write!(
            self.request,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.authority, self.token
        )?;
        if !body.is_empty() {
            self.request.push_str("Content-Type: application/json\r\n");
        }
        write!(self.request, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(&self.authority)
                    .await
                    .with_context(|| format!("connecting to {}", self.authority))?;
                s.set_nodelay(true)?;
                self.stream.insert(s)
            }
        };
        stream.write_all(self.request.as_bytes()).await?;
        self.answer.clear();
        let head = loop {
            if stream.read_buf(&mut self.answer).await? == 0 {
                bail!(
                    "the hub closed the connection before its answer to POST {path} was complete"
                );
            }
            if let Some(head) = parse_head(&self.answer)? {
                break head;
            }
        };
        while self.answer.len() < head.body.end {
            if stream.read_buf(&mut self.answer).await? == 0 {
                bail!("the hub closed the connection in the middle of its answer to POST {path}");
            }
        }
        if self.answer.len() > head.body.end {
            bail!("the hub sent more than the answer to POST {path} (nothing else was asked)");
        }
        if head.close {
            self.stream = None;
        }
        Ok((head.status, &self.answer[head.body]))
    }
}

/// The answer's head once all of it has come (`None` until then). Only `Content-Length`
/// bodies: the hub never chunks an answer to an operation or a claim.
fn parse_head(bytes: &[u8]) -> anyhow::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut answer = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = answer.parse(bytes)? else {
        return Ok(None);
    };
    let status = answer.code.context("an answer without a status")?;
    let mut length = None;
    let mut close = false;
    for h in answer.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = Some(std::str::from_utf8(h.value)?.trim().parse::<usize>()?);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("the hub chunked an answer; this client reads Content-Length bodies only");
        }
    }
    let length = length.context("an answer without a Content-Length")?;
    Ok(Some(Head {
        status,
        body: head_len..head_len + length,
        close,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_read_once_it_is_complete() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"data\":{}}";
        assert!(parse_head(&answer[..20]).unwrap().is_none());
        let head = parse_head(answer).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(&answer[head.body], b"{\"data\":{}}");
        assert!(!head.close);
    }

    #[test]
    fn a_closing_answer_is_told_and_a_chunked_one_refused() {
        let closing = b"HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        let head = parse_head(closing).unwrap().unwrap();
        assert_eq!((head.status, head.close), (409, true));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }
}
