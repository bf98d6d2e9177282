//! A load thread that cannot start ends the whole load with its reason.
//! Reproduced through the binary under a low open-file limit: 1000
//! connections on 8 threads run some threads out of descriptors before they
//! build their runtime or open their connections. The other threads used to
//! wait on a barrier for ever, and the harness with them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn running_out_of_file_descriptors_ends_every_load_thread_with_the_reason() {
    // Connections land in the backlog; nothing needs to answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    for limit in ["24", "32"] {
        // The shell's own `ulimit` lowers the limit for the binary it execs.
        let mut child = Command::new("bash")
            .args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_blueprint-bench"))
            .args(["load", &url, "-c", "1000", "-t", "8", "-d", "1s"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("nofile {limit}: the load hung after a thread failed to start");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert!(!status.success(), "nofile {limit}: {stderr}");
        assert!(
            stderr.contains("the load did not start") && stderr.contains("Too many open files"),
            "nofile {limit}: {stderr}"
        );
    }
}
