//! Every scenario in `events/scenarios/` runs through the whole in-process pipeline and gives
//! exactly the outcome lines in its `.expected.jsonl` file; the `rewards` command keeps the
//! interface of spec section 7 (outcome lines with `--json`, exit 2 for an unreadable scenario).

use std::path::{Path, PathBuf};
use std::process::Command;

use scenario_runner::{report, run_scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/scenarios")
}

fn scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("events/scenarios exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_scenario_gives_its_expected_outcomes() {
    let files = scenarios();
    assert!(
        files.len() >= 6,
        "one scenario per seed story and one with bad input: {files:?}"
    );
    for file in files {
        let expected_file = file.with_extension("expected.jsonl");
        let expected = std::fs::read_to_string(&expected_file)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
        let trace = run_scenario(&file).await.unwrap_or_else(|e| panic!("{e}"));
        let actual = report::json_lines(&trace);
        assert_eq!(actual, expected, "outcomes of {}", file.display());
    }
}

#[test]
fn the_command_prints_outcome_lines_with_json_and_an_account_without() {
    let file = scenarios_dir().join("happy-path.json");
    let json = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["run", file.to_str().expect("path"), "--json"])
        .output()
        .expect("runs");
    assert_eq!(json.status.code(), Some(0));
    let stdout = String::from_utf8(json.stdout).expect("utf-8");
    for line in stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(value.get("outcome").is_some(), "{line}");
    }
    assert_eq!(
        stdout,
        std::fs::read_to_string(file.with_extension("expected.jsonl")).expect("expected")
    );

    let readable = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["run", file.to_str().expect("path")])
        .output()
        .expect("runs");
    assert_eq!(readable.status.code(), Some(0));
    let text = String::from_utf8(readable.stdout).expect("utf-8");
    assert!(text.contains("summary"), "{text}");
    assert!(
        text.contains(" ms "),
        "each stage's latency is shown: {text}"
    );
}

#[test]
fn an_unreadable_scenario_exits_2_naming_the_file_the_step_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("rewards-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        ("missing.json", None, "cannot read"),
        ("bad-json.json", Some("{"), "not a scenario"),
        (
            "unknown-step.json",
            Some(r#"{"now": "2026-11-18T10:00:00Z", "steps": [{"teleport": {}}]}"#),
            "step 1: unknown step kind `teleport`",
        ),
        (
            "bad-date.json",
            Some(r#"{"now": "2026-11-18T10:00:00Z", "steps": [{"setClock": "next tuesday"}]}"#),
            "step 1: bad date `next tuesday`",
        ),
    ];
    for (name, content, problem) in cases {
        let path = dir.join(name);
        if let Some(content) = content {
            std::fs::write(&path, content).expect("write");
        }
        let output = Command::new(env!("CARGO_BIN_EXE_rewards"))
            .args(["run", path.to_str().expect("path"), "--json"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(name) && stderr.contains(problem),
            "{name}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{name}");
    }
}

#[test]
fn aws_runs_exit_1_naming_the_endpoint_when_it_does_not_answer_and_bad_flags_exit_2() {
    let file = scenarios_dir().join("happy-path.json");
    let file = file.to_str().expect("path");
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["run", file, "--aws", "--json"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&endpoint) && stderr.contains("CreateTable"),
        "{stderr}"
    );

    for (flags, named) in [
        (vec!["--aws", "--aws"], "--aws"),
        (vec!["--aws", "--verbose"], "--verbose"),
        (vec!["--json", "--json"], "--json"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_rewards"))
            .args(["run", file])
            .args(&flags)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("Usage: rewards run") && stderr.contains(named),
            "{flags:?}: {stderr}"
        );
    }
}

#[test]
fn help_lists_every_command_and_each_command_has_its_own() {
    let help = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .arg("--help")
        .output()
        .expect("runs");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["run", "chaos", "bench", "redrive"] {
        assert!(
            text.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "{command}: {text}"
        );
        let own = Command::new(env!("CARGO_BIN_EXE_rewards"))
            .args([command, "--help"])
            .output()
            .expect("runs");
        assert_eq!(own.status.code(), Some(0), "{command}");
        let own = String::from_utf8_lossy(&own.stdout);
        assert!(own.contains(&format!("Usage: rewards {command}")), "{own}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["bench", "--fast"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fast"));
    let nothing = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .output()
        .expect("runs");
    assert_eq!(nothing.status.code(), Some(2));
}

#[test]
fn mermaid_draws_the_scenario_as_a_sequence_diagram() {
    let file = scenarios_dir().join("happy-path.json");
    let output = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["run", file.to_str().expect("path"), "--mermaid"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let diagram = String::from_utf8(output.stdout).expect("utf-8");
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    let expected =
        std::fs::read_to_string(file.with_extension("expected.jsonl")).expect("expected");
    let count = |lines: &str, needle: &str| lines.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count(&diagram, "-)customer: ✔ delivered"),
        count(&expected, r#""outcome":"delivered""#),
        "every delivery an arrow to the customer: {diagram}"
    );
    assert_eq!(
        count(&diagram, "Note over tim: ✖ dropped at tim"),
        count(&expected, r#""outcome":"dropped","stage":"tim""#),
        "every drop a note over its stage: {diagram}"
    );
    for arrow in [
        "msk->>dec: local.rewards.cpp.activity",
        "dec->>tim: cpp-enriched-events",
        "tim->>fred: relevant-events",
        "fred->>bcg: decided-events",
    ] {
        assert!(diagram.contains(arrow), "{arrow}: {diagram}");
    }
}

#[test]
fn the_readme_diagram_is_what_mermaid_prints() {
    let file = scenarios_dir().join("offline-then-online.json");
    let output = Command::new(env!("CARGO_BIN_EXE_rewards"))
        .args(["run", file.to_str().expect("path"), "--mermaid"])
        .output()
        .expect("runs");
    let diagram = String::from_utf8(output.stdout).expect("utf-8");
    let readme = std::fs::read_to_string(scenarios_dir().join("../../README.md")).expect("README");
    assert!(
        readme.contains(&format!("```mermaid\n{diagram}```\n")),
        "README.md's sequence diagram differs from `rewards run {} --mermaid`:\n{diagram}",
        file.display()
    );
}
