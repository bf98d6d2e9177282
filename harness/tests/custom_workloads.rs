//! A scenario's own workloads (`[workloads.<name>]`): an http-wasm
//! middleware written with a third-party guest library from crates.io and a
//! WASI command run through a real daprd, checked by conformance against
//! their vectors and measured by a run like any built-in workload; bad
//! module files refused with the scenario's file, line and field before
//! anything starts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use blueprint_bench::blueprint::{self, RunContext};
use blueprint_bench::conformance::{self, ConformanceCell, ConformanceContext, Filter};
use blueprint_bench::scenario::{self, CellId, DaprSettings, Plan};
use blueprint_bench::workloads::{self, Catalog};
use blueprint_bench::{paths, workloads::rustup};
use blueprint_host::table as runtimes;

/// The example scenario of README.md, "Your own workload".
fn example_dir() -> PathBuf {
    paths::project_dir().join("scenarios/custom")
}

/// The fixture middleware, built once for wasm32-wasip1 into the cache.
fn upper_filter() -> PathBuf {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            rustup::ensure_targets(&["wasm32-wasip1"]).expect("the wasm32-wasip1 target");
            let manifest = paths::project_dir().join("harness/tests/fixtures/custom-middleware/Cargo.toml");
            let target_dir = paths::cache_dir().join("custom-workloads-target");
            eprintln!(
                "building the custom middleware fixture (fetches http-wasm-guest from crates.io the first time) into {}",
                target_dir.display()
            );
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = Command::new(cargo)
                .args(["build", "--release", "--target", "wasm32-wasip1", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target_dir)
                // The fixture's own profile decides; the host build's flags do not apply.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_TARGET_DIR")
                .output()
                .expect("running cargo");
            assert!(
                output.status.success(),
                "building {}:\n{}",
                manifest.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            target_dir.join("wasm32-wasip1/release/upper-filter.wasm")
        })
        .clone()
}

/// The example scenario with its files, and the built fixture as the module
/// it names, in a fresh folder.
fn example_in(dir: &Path) -> PathBuf {
    for file in ["example.toml", "upper.json"] {
        std::fs::copy(example_dir().join(file), dir.join(file)).unwrap();
    }
    std::fs::copy(upper_filter(), dir.join("upper-filter.wasm")).unwrap();
    dir.join("example.toml")
}

/// A WASI command that answers `echo:` and its stdin, and exits 1 on an
/// empty stdin.
const ECHO_COMMAND: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 32) "echo:")
  (data (i32.const 48) "empty input\n")
  (func (export "_start")
    (local $len i32) (local $n i32)
    (loop $more
      (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
      (i32.store (i32.const 4) (i32.sub (i32.const 130048) (local.get $len)))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 2))))
      (local.set $n (i32.load (i32.const 8)))
      (local.set $len (i32.add (local.get $len) (local.get $n)))
      (br_if $more (i32.and (i32.ne (local.get $n) (i32.const 0))
                            (i32.lt_u (local.get $len) (i32.const 130048)))))
    (if (i32.eqz (local.get $len))
      (then
        (i32.store (i32.const 16) (i32.const 48))
        (i32.store (i32.const 20) (i32.const 12))
        (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 8)))
        (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 16) (i32.const 32))
    (i32.store (i32.const 20) (i32.const 5))
    (i32.store (i32.const 24) (i32.const 1024))
    (i32.store (i32.const 28) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 2) (i32.const 8)))))
"#;

const ECHO_VECTORS: &str = r#"{
  "workload": "echo-cmd",
  "pure": true,
  "cases": [
    { "name": "text", "input": "hello binding", "output": "echo:hello binding" },
    { "name": "bytes", "input_base64": "AAEC/w==", "output_base64": "ZWNobzoAAQL/" },
    { "name": "empty", "input": "", "error": "empty input" }
  ]
}"#;

/// A scenario running the WASI command as a custom workload in `modes`.
fn command_scenario(dir: &Path, modes: &str) -> PathBuf {
    std::fs::write(dir.join("echo.wasm"), wat::parse_str(ECHO_COMMAND).unwrap()).unwrap();
    std::fs::write(dir.join("echo.json"), ECHO_VECTORS).unwrap();
    common::scenario(
        dir,
        "custom-command",
        &format!(
            r#"[workloads.echo-cmd]
command = "echo.wasm"
vectors = "echo.json"

[matrix]
workloads = ["echo-cmd"]
modes = {modes}
runtimes = ["wasmtime"]

[load]
connections = 2
warmup = "200ms"
duration = "1s"
trials = 1
"#
        ),
    )
}

fn load(path: &Path) -> anyhow::Result<Plan> {
    let project = paths::project_dir();
    scenario::load(path, &workloads::known_workloads(&project)?, &runtimes::names())
}

fn conformance_context() -> ConformanceContext {
    ConformanceContext {
        daprd: common::daprd(),
        self_exe: common::bin(),
        project: paths::project_dir(),
        cache: paths::cache_dir(),
    }
}

async fn conformance_of(plan: &Plan, work: &Path) -> Vec<ConformanceCell> {
    conformance::run_scenario(&conformance_context(), plan, &Filter::default(), work)
        .await
        .unwrap()
}

fn cell<'a>(cells: &'a [ConformanceCell], mode: &str) -> &'a ConformanceCell {
    cells
        .iter()
        .find(|c| c.mode == mode)
        .unwrap_or_else(|| panic!("no {mode} cell in {}", conformance::render(cells)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_third_party_http_wasm_middleware_runs_inside_daprd_and_passes_its_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let plan = load(&example_in(dir.path())).unwrap();
    let upper = CellId {
        workload: "upper".into(),
        mode: "middleware".into(),
        runtime: blueprint_analysis::modes::IN_DAPRD.into(),
        language: workloads::CUSTOM_LANGUAGE.into(),
        protocol: "http".into(),
        store: "in-memory".into(),
        trigger: "dapr".into(),
        instances: Default::default(),
    };
    assert!(plan.cells.contains(&upper), "{:?}", plan.cells);

    // Its effect, seen through daprd: the app gets the rewritten body and the
    // answer carries the filter's header.
    let mut catalog = Catalog::default();
    catalog.add_custom(&plan.custom);
    let resolved = blueprint::resolve(&paths::project_dir(), &upper, &catalog)
        .unwrap()
        .expect("the middleware cell resolves");
    let ctx = RunContext {
        project: paths::project_dir(),
        cache: paths::cache_dir(),
        daprd: common::daprd(),
        host_program: common::bin(),
        work_dir: dir.path().join("system"),
        app_env: Vec::new(),
        pinning: None,
    };
    let system_dir = dir.path().join("system");
    std::fs::create_dir_all(&system_dir).unwrap();
    let system = blueprint::start(
        &ctx,
        &DaprSettings::default(),
        &upper,
        &resolved,
        bytes::Bytes::new(),
        &system_dir,
    )
    .await
    .unwrap();
    let reply = system
        .sidecar
        .client()
        .send_chunked(
            &system.sidecar.invoke_url("upper"),
            "through daprd",
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let log = system.sidecar.log_tail(20);
    system.stop();
    assert_eq!(reply.status.as_u16(), 200, "{}\n{log}", reply.text());
    assert_eq!(reply.text(), "THROUGH DAPRD");
    assert_eq!(
        reply.headers.get("x-upper-filter").map(|v| v.as_bytes()),
        Some(&b"on"[..]),
        "{:?}",
        reply.headers
    );

    // Conformance of the scenario: the vectors in every mode it lists that
    // can run them; the others say why not.
    let cells = conformance_of(&plan, &dir.path().join("conformance")).await;
    let rendered = conformance::render(&cells);
    let middleware = cell(&cells, "middleware");
    assert_eq!(middleware.status, "pass", "{rendered}");
    assert_eq!((middleware.passed, middleware.cases), (3, 3), "{rendered}");
    assert_eq!(middleware.language, "custom", "{rendered}");
    let binding = cell(&cells, "binding");
    assert_eq!(binding.status, "n/a", "{rendered}");
    assert!(
        binding
            .first_difference
            .as_deref()
            .is_some_and(|d| d.contains("no `command` module given for custom workload `upper`")),
        "{rendered}"
    );
    // The built-in workload of the same scenario is not conformance's business here.
    assert!(cells.iter().all(|c| c.workload == "upper"), "{rendered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_command_answers_its_vectors_as_a_binding_through_daprd() {
    let dir = tempfile::tempdir().unwrap();
    let plan = load(&command_scenario(
        dir.path(),
        r#"["binding", "middleware", "native"]"#,
    ))
    .unwrap();
    let cells = conformance_of(&plan, &dir.path().join("conformance")).await;
    let rendered = conformance::render(&cells);
    let binding = cell(&cells, "binding");
    assert_eq!(binding.status, "pass", "{rendered}");
    assert_eq!((binding.passed, binding.cases), (3, 3), "{rendered}");
    assert_eq!(cell(&cells, "middleware").status, "n/a", "{rendered}");
    let native = cell(&cells, "native");
    assert!(
        native.status == "n/a"
            && native
                .first_difference
                .as_deref()
                .is_some_and(|d| d.contains("custom workload")),
        "{rendered}"
    );
}

#[test]
fn a_run_records_custom_cells_under_the_language_custom() {
    let dir = tempfile::tempdir().unwrap();
    let path = command_scenario(dir.path(), r#"["binding", "native"]"#);
    let out = dir.path().join("results.json");
    let run = Command::new(common::bin())
        .args(["run", path.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env("DAPRD", common::daprd().path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stderr}\n{stdout}");
    // The plan screen names what is ruled out and why.
    assert!(
        stderr.contains("n/a: the native floor is the built-in Rust workloads"),
        "{stderr}"
    );
    assert!(stdout.contains("custom"), "{stdout}");
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{results:#}");
    for cell in cells {
        assert_eq!(cell["id"]["language"], "custom", "{cell:#}");
        assert_eq!(cell["id"]["workload"], "echo-cmd", "{cell:#}");
    }
    let binding = cells.iter().find(|c| c["id"]["mode"] == "binding").unwrap();
    assert_eq!(binding["status"], "ok", "{binding:#}");
    assert_eq!(binding["trials"].as_array().unwrap().len(), 1, "{binding:#}");
    assert!(binding["module_size_bytes"].as_u64().unwrap() > 0, "{binding:#}");
    let native = cells.iter().find(|c| c["id"]["mode"] == "native").unwrap();
    assert_eq!(native["status"], "not-applicable", "{native:#}");
}

/// The scenario error for `body` (after `[scenario]`) in `dir`, which holds
/// a text file named `.wasm` and a command module.
fn error_of(dir: &Path, body: &str) -> (PathBuf, String) {
    std::fs::write(dir.join("notes.wasm"), "just some text\n").unwrap();
    std::fs::write(dir.join("echo.wasm"), wat::parse_str(ECHO_COMMAND).unwrap()).unwrap();
    let path = common::scenario(dir, "bad", body);
    let err = load(&path).expect_err("the scenario must be refused");
    (path, format!("{err:#}"))
}

const MATRIX: &str = r#"
[matrix]
workloads = ["mine"]
modes = ["middleware"]
runtimes = ["wasmtime"]

[inputs.mine]
text = "x"
"#;

#[test]
fn bad_module_files_are_refused_with_file_line_and_field_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    // Line 4 holds the field in each: `[scenario]`, `name`, blank, header, field.
    let cases = [
        (
            "middleware = \"absent.wasm\"",
            "workloads.mine.middleware",
            "absent.wasm",
        ),
        (
            "middleware = \"notes.wasm\"",
            "workloads.mine.middleware",
            "not a WebAssembly module",
        ),
        (
            "middleware = \"echo.wasm\"",
            "workloads.mine.middleware",
            "does not export `handle_request`",
        ),
        (
            "embedded = \"echo.wasm\"",
            "workloads.mine.embedded",
            "`bb_handle`",
        ),
        ("command = \"notes.wasm\"", "workloads.mine.command", "magic"),
    ];
    for (field, name, says) in cases {
        let (path, err) = error_of(dir.path(), &format!("[workloads.mine]\n{field}\n{MATRIX}"));
        assert!(
            err.starts_with(&format!("{}:5: {name}: ", path.display())),
            "{err}"
        );
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn names_keys_and_request_bodies_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = error_of(
        dir.path(),
        &format!("[workloads.mine]\ncommand = \"echo.wasm\"\ncomand = \"x\"\n{MATRIX}"),
    );
    assert!(
        err.starts_with(&format!("{}:6:", path.display())) && err.contains("comand"),
        "{err}"
    );

    let (path, err) = error_of(
        dir.path(),
        &format!("[workloads.noop]\ncommand = \"echo.wasm\"\n{MATRIX}"),
    );
    assert!(
        err.starts_with(&format!("{}:4: workloads.noop:", path.display())) && err.contains("built-in"),
        "{err}"
    );

    let (path, err) = error_of(
        dir.path(),
        &format!(
            "[workloads.mine]\ncommand = \"echo.wasm\"\n{}",
            MATRIX.replace("[inputs.mine]\ntext = \"x\"\n", "")
        ),
    );
    assert!(
        err.starts_with(&format!("{}:4: workloads.mine:", path.display())) && err.contains("[inputs.mine]"),
        "{err}"
    );
}

#[test]
fn custom_cells_have_one_language_and_modes_without_a_module_are_not_applicable() {
    let dir = tempfile::tempdir().unwrap();
    let path = command_scenario(dir.path(), r#"["binding", "embedded"]"#);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[matrix]\n", "[matrix]\nlanguages = [\"rust\", \"go\"]\n");
    std::fs::write(&path, text).unwrap();
    let plan = load(&path).unwrap();
    assert_eq!(plan.cells.len(), 2, "{:?}", plan.cells);
    assert!(plan.cells.iter().all(|c| c.language == "custom"));
    let embedded = plan.cells.iter().find(|c| c.mode == "embedded").unwrap();
    let status = blueprint::ruled_out(&paths::project_dir(), embedded, &plan.custom).unwrap();
    assert_eq!(
        status,
        Some(blueprint_analysis::results::CellStatus::NotApplicable {
            reason: "no `embedded` module given for custom workload `echo-cmd`".into()
        })
    );
}

#[test]
fn decide_measures_a_scenarios_own_workload_only_in_the_modes_its_modules_fit() {
    let dir = tempfile::tempdir().unwrap();
    let example = example_in(dir.path());
    let out = dir.path().join("decision");
    let given = format!("{}:upper", example.display());
    // The question, one trial per candidate, short windows.
    let decide = |extra: &[&str], what: &str| -> serde_json::Value {
        let mut args = vec![
            "decide",
            "--scenario-workload",
            &given,
            "--rate",
            "200",
            "--p99-budget",
            "1s",
            "--trials",
            "1",
            "--max-trials",
            "1",
            "--warmup",
            "200ms",
            "--duration",
            "1s",
            "--json",
        ];
        args.extend_from_slice(extra);
        let output = common::output_ok(&mut common::harness(&args), what);
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let decision = decide(
        &["--fresh", "--out", out.to_str().unwrap()],
        "decide --scenario-workload",
    );
    // Only a middleware module is given: the two modes that run it inside
    // daprd are measured, the others are left out naming the missing module.
    assert_eq!(decision["measured_trials"], 2, "{decision:#}");
    let not_candidates = decision["not_candidates"].to_string();
    for (mode, flavour) in [
        ("embedded", "embedded"),
        ("standalone-http", "http"),
        ("binding", "command"),
    ] {
        assert!(
            not_candidates.contains(&format!(
                "{mode}: no `{flavour}` module given for custom workload `upper`"
            )),
            "{not_candidates}"
        );
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    let mut modes: Vec<&str> = cells.iter().map(|c| c["id"]["mode"].as_str().unwrap()).collect();
    modes.sort_unstable();
    assert_eq!(modes, ["middleware", "middleware+httppipeline"], "{results:#}");
    for cell in cells {
        assert_eq!(cell["id"]["workload"], "upper");
        assert_eq!(cell["id"]["language"], "custom");
        assert_eq!(cell["status"], "ok", "{cell:#}");
    }
    // The answer says why those modes have no figures: not "not measured".
    let not_measured = decision["answer"]["not_measured"].to_string();
    assert!(
        not_measured.contains("not a candidate: no `embedded` module given"),
        "{not_measured}"
    );
    let answered = decision["answer"]["unranked"].as_array().unwrap().len()
        + decision["answer"]["ranked"].as_array().unwrap().len();
    assert!(answered > 0, "a 1 s budget at 200 req/s: {decision:#}");
    // Asked again from those results, nothing is measured; once the module
    // is rebuilt (here: a custom section added), its earlier cells are
    // another workload's and everything is measured again.
    let results_file = out.join("results.json");
    let plan = |what: &str| decide(&["--from", results_file.to_str().unwrap(), "--plan"], what);
    let same = plan("decide --plan with the same module");
    assert!(same["to_measure"].as_array().unwrap().is_empty(), "{same:#}");
    let module = dir.path().join("upper-filter.wasm");
    let mut rebuilt = std::fs::read(&module).unwrap();
    rebuilt.extend_from_slice(&[0, 4, 3, b'n', b'e', b'w']);
    std::fs::write(&module, rebuilt).unwrap();
    let changed = plan("decide --plan with a rebuilt module");
    assert_eq!(changed["to_measure"].as_array().unwrap().len(), 2, "{changed:#}");
    assert_eq!(changed["not_reused"].as_array().unwrap().len(), 2, "{changed:#}");

    // The module and its vectors travel with the decision: its scenarios
    // name the copies, so they re-run after the originals are gone.
    assert!(out.join("workload/middleware.wasm").is_file());
    std::fs::remove_file(dir.path().join("upper-filter.wasm")).unwrap();
    let round = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "toml"))
        .unwrap();
    let plan = load(&round).unwrap_or_else(|e| panic!("{}: {e:#}", round.display()));
    let upper = &plan.custom["upper"];
    assert!(upper.vectors.is_some());
    assert!(
        upper
            .modules
            .values()
            .all(|m| m.starts_with(out.canonicalize().unwrap()))
    );
}
