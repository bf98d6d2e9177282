//! `k8s render` and `k8s collect`, without a cluster: every scenario's
//! manifests decoded strictly by the Kubernetes and Dapr Go types
//! (`deploy/k8scheck`), the smoke rendering pinned by a golden file, and
//! collect run against recorded `kubectl` answers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use blueprint_bench::k8s::render::{RenderOptions, render};
use blueprint_bench::{go_host, paths, scenario, workloads};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s")
}

fn render_scenario(file: &Path, out: &Path) -> blueprint_bench::k8s::render::RenderedPlan {
    let project = paths::project_dir();
    let known = workloads::known_workloads(&project).unwrap();
    let plan = scenario::load(file, &known, &blueprint_host::table::names()).unwrap();
    let opts = RenderOptions {
        out: out.to_owned(),
        image_registry: "registry.example".into(),
        image_tag: "test".into(),
        namespace: None,
        parallelism: 2,
    };
    render(&project, &plan, &opts).unwrap()
}

fn scenarios() -> Vec<PathBuf> {
    let dir = paths::project_dir().join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_renders_manifests_the_api_types_accept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for file in scenarios() {
        let out = tmp.path().join(file.file_stem().unwrap());
        let plan = render_scenario(&file, &out);
        assert!(out.join("PLAN.md").exists() && out.join("run.sh").exists());
        // Nothing silently dropped: every cell is rendered or listed with why.
        let md = std::fs::read_to_string(out.join("PLAN.md")).unwrap();
        for cell in &plan.cells {
            assert!(
                md.contains(&format!("`{}`", cell.id)),
                "{} missing from PLAN.md",
                cell.id
            );
        }
        dirs.push(out);
    }
    let project = paths::project_dir();
    let mut cmd = go_host::go_command(&paths::cache_dir(), &project.join("deploy/k8scheck"));
    cmd.args(["test", "-count=1", "-v", "./..."]);
    cmd.env("BLUEPRINT_K8S_MANIFESTS", std::env::join_paths(&dirs).unwrap());
    let out = cmd.output().expect("go must be installed: it builds daprd too");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go test in deploy/k8scheck failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("--- PASS: TestManifestsDecodeStrictly"),
        "{stdout}"
    );
}

/// Every rendered file, in path order, each under a header line.
fn concatenated(dir: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let project = paths::project_dir().display().to_string();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            format!("==> {} <==\n{text}", f.strip_prefix(dir).unwrap().display())
        })
        .collect::<String>()
        .replace(&project, "<project>")
}

/// `BLESS_K8S_GOLDEN=1` rewrites the expected file.
#[test]
fn smoke_rendering_matches_the_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    render_scenario(&paths::project_dir().join("scenarios/smoke.toml"), tmp.path());
    let got = concatenated(tmp.path());
    let golden = fixtures().join("smoke.golden");
    if std::env::var_os("BLESS_K8S_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("run with BLESS_K8S_GOLDEN=1 to write it");
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the smoke rendering changed (first difference at line {}: {:?} vs {:?}); \
             re-bless with BLESS_K8S_GOLDEN=1 if intended",
            line + 1,
            got.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

#[test]
fn collect_reads_recorded_kubectl_answers_into_results_report_reads() {
    // A loopback target for the load logs the recorded pods print.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0
                        || s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    let bin = env!("CARGO_BIN_EXE_blueprint-bench");
    let load = |extra: &[&str]| {
        let out = Command::new(bin)
            .args([
                "load",
                &format!("http://127.0.0.1:{port}/"),
                "-d",
                "500ms",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        // As `kubectl logs` shows it: stderr lines may come first.
        format!("waiting for daprd\n{}", String::from_utf8(out.stdout).unwrap())
    };
    let run = tempfile::tempdir().unwrap();
    std::fs::create_dir(run.path().join("logs")).unwrap();
    for (pod, extra) in [
        ("bb-000-t0-dapr-0-abcde", &["-c", "1"][..]),
        ("bb-000-t0-dapr-1-fghij", &["-c", "1"][..]),
        ("bb-000-t0-direct-0-klmno", &["-c", "2"][..]),
        ("bb-000-t0-rate-100-0-pqrst", &["--rate", "100"][..]),
    ] {
        std::fs::write(run.path().join(format!("logs/{pod}.log")), load(extra)).unwrap();
    }

    // The plan as `k8s render` stores it, from a scenario of one deployment.
    let scenario_file = run.path().join("one.toml");
    std::fs::write(
        &scenario_file,
        "[scenario]\nname = \"one\"\nseed = 7\n[matrix]\nworkloads = [\"noop\"]\nmodes = [\"embedded\"]\n\
         runtimes = [\"wasmtime\", \"wasmedge\"]\ntriggers = [\"dapr\", \"direct\"]\n\
         [load]\nconnections = 2\nwarmup = \"0s\"\nduration = \"500ms\"\nrates = [100]\n",
    )
    .unwrap();
    let plan = render_scenario(&scenario_file, &run.path().join("rendered"));
    let configmap = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "blueprint-bench-plan", "namespace": "bb-test"},
        "data": {"plan.json": serde_json::to_string(&plan).unwrap()},
    });
    std::fs::write(run.path().join("plan-configmap.json"), configmap.to_string()).unwrap();

    let results_path = run.path().join("results.json");
    common::output_ok(
        Command::new(bin)
            .args(["k8s", "collect", "--namespace", "bb-test", "--kubectl"])
            .arg(fixtures().join("kubectl"))
            .arg("--out")
            .arg(&results_path)
            .env("K8S_RUN", run.path()),
        "k8s collect",
    );
    let results = blueprint_analysis::results::read(&results_path).unwrap();

    assert_eq!(results.environment.kernel, "6.8.0-1015-azure");
    assert_eq!(results.environment.cores, 8);
    assert_eq!(results.environment.memory_bytes, 32_863_244 * 1024);
    assert_eq!(results.environment.daprd.as_ref().unwrap().version, "1.18.2");
    assert!(results.environment.cpu.contains("of 2 node(s)"));

    let cell = |trigger: &str, runtime: &str| {
        results
            .cells
            .iter()
            .find(|c| c.id.trigger == trigger && c.id.runtime == runtime)
            .unwrap_or_else(|| panic!("no {runtime}/{trigger} cell"))
    };
    let dapr = cell("dapr", "wasmtime");
    assert_eq!(dapr.status.describe(), "ok");
    let trial = &dapr.trials[0];
    // Two pods merged; their counts add.
    let logs: u64 = ["bb-000-t0-dapr-0-abcde", "bb-000-t0-dapr-1-fghij"]
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(run.path().join(format!("logs/{p}.log"))).unwrap();
            blueprint_bench::k8s::merge::find_output(&text)
                .unwrap()
                .summary
                .requests
        })
        .sum();
    assert_eq!(trial.load.requests, logs);
    let roles: Vec<&str> = trial.processes.iter().map(|p| p.role.as_str()).collect();
    for role in ["app", "daprd", "daprd-tester", "load-generator"] {
        assert!(roles.contains(&role), "{roles:?}");
    }
    let app = trial.processes.iter().find(|p| p.role == "app").unwrap();
    assert!((app.cpu_s - 0.5 * trial.load.duration_s).abs() < 1e-9);
    assert_eq!(app.peak_rss_bytes, 52_428_800);
    assert!(trial.cpu_per_request_us.is_some());
    assert_eq!(trial.sweep.len(), 1);
    assert!(dapr.summary.is_some());

    let direct = cell("direct", "wasmtime");
    assert_eq!(direct.status.describe(), "ok");
    assert!(
        direct.trials[0]
            .processes
            .iter()
            .any(|p| p.role == "app" && p.cpu_s > 0.0)
    );
    assert!(
        cell("dapr", "wasmedge")
            .status
            .describe()
            .starts_with("unavailable: not on Kubernetes")
    );

    // The analysis commands read it unchanged.
    common::output_ok(
        Command::new(bin)
            .arg("report")
            .arg(&results_path)
            .arg("--out")
            .arg(run.path().join("report")),
        "report",
    );
}
