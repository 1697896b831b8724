//! A cargo sparse registry on 127.0.0.1, on its own thread: `config.json`, one crate's index
//! entry and its `.crate` archive (a real gzipped tarball made with `tar`), every request
//! counted. A `.cargo/config.toml` that replaces crates.io with it makes a crate's dependencies
//! something only the network can bring, as crates.io is for a real repository.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The server; it stops when dropped.
pub struct FakeRegistry {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Files {
    files: HashMap<String, Vec<u8>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeRegistry {
    /// Serves crate `name` 0.1.0 whose `src/lib.rs` is `lib_rs`; `scratch` is where its archive
    /// is made.
    pub fn serve(name: &str, lib_rs: &str, scratch: &Path) -> FakeRegistry {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let archive = crate_archive(name, lib_rs, scratch);
        let cksum = format!("{:x}", Sha256::digest(&archive));
        let entry = format!(
            "{{\"name\":\"{name}\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"{cksum}\",\"features\":{{}},\"yanked\":false}}\n"
        );
        let config = format!("{{\"dl\":\"{base}/dl/{{crate}}/{{version}}.crate\"}}");
        let mut files = HashMap::new();
        files.insert("/config.json".to_owned(), config.into_bytes());
        files.insert(format!("/{}", index_path(name)), entry.into_bytes());
        files.insert(format!("/dl/{name}/0.1.0.crate"), archive);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Files { files, seen: seen.clone() });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = Router::new().fallback(handle).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        FakeRegistry { base, seen, stop: Some(stop), thread: Some(thread) }
    }

    /// The `.cargo/config.toml` that replaces crates.io with this registry.
    pub fn cargo_config(&self) -> String {
        format!("[source.crates-io]\nreplace-with = \"fake\"\n\n[source.fake]\nregistry = \"sparse+{}/\"\n", self.base)
    }

    /// The paths requested so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(State(files): State<Arc<Files>>, uri: Uri) -> Response {
    files.seen.lock().unwrap().push(uri.path().to_owned());
    match files.files.get(uri.path()) {
        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Where a crate's entry lives in a registry index.
fn index_path(name: &str) -> String {
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The `.crate` archive of `name` 0.1.0: `name-0.1.0/{Cargo.toml,src/lib.rs}`, gzipped tar.
fn crate_archive(name: &str, lib_rs: &str, scratch: &Path) -> Vec<u8> {
    let root = scratch.join(format!("{name}-0.1.0"));
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    )
    .unwrap();
    std::fs::write(root.join("src/lib.rs"), lib_rs).unwrap();
    let archive = scratch.join(format!("{name}-0.1.0.crate"));
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(scratch)
        .arg(format!("{name}-0.1.0"))
        .status()
        .unwrap();
    assert!(status.success(), "tar could not make the crate archive");
    std::fs::read(&archive).unwrap()
}
