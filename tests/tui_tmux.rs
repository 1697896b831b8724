//! The control room in a real terminal: tmux runs the binary, sends keys and reads the screen.

mod support {
    pub mod cli;
}

use std::process::Command;
use std::time::{Duration, Instant};

use support::cli::Sandbox;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(sandbox: &Sandbox, width: u16, height: u16) -> Tmux {
        let socket = format!(
            "ambidex-test-{}-{}",
            std::process::id(),
            sandbox.dir.path().file_name().unwrap().to_string_lossy()
        );
        let binary = env!("CARGO_BIN_EXE_ambidex");
        let script = format!(
            "cd {repo} && env -u AMBIDEX_STATE_DIR HOME={home} XDG_CONFIG_HOME={config} XDG_DATA_HOME={data} {binary}; echo EXITED:$?; sleep 60",
            repo = sandbox.repo().display(),
            home = sandbox.path("home").display(),
            config = sandbox.path("config").display(),
            data = sandbox.path("data").display(),
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .args(["sh", "-c", &script])
            .status()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(status.success());
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(Instant::now() < deadline, "`{needle}` never appeared; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn the_control_room_lists_tasks_and_quits_restoring_the_terminal() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "Fix the flaky login test", "--risk", "low"]).ok();
    sandbox.run(&["task", "add", "--title", "Document the retry policy"]).ok();

    let tmux = Tmux::start(&sandbox, 100, 30);
    let screen = tmux.wait_for("Document the retry policy");
    assert!(screen.contains("Ambidex") && screen.contains("2 tasks"), "{screen}");
    assert!(screen.contains("Fix the flaky login test") && screen.contains("needs_clarifi"), "{screen}");
    assert_eq!(
        tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(),
        "1",
        "the control room uses the alternate screen"
    );

    tmux.keys(&["j", "k", "q"]);
    let screen = tmux.wait_for("EXITED:0");
    assert!(!screen.contains("Document the retry policy"), "the control room is gone after quitting:\n{screen}");
    assert_eq!(tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(), "0", "the alternate screen was left");
}
