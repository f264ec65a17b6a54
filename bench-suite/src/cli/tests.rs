use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    let m = command(&Registry::ours()).try_get_matches_from(args)?;
    Cli::from_arg_matches(&m)
}

#[test]
fn entry_lists_are_validated() {
    assert_eq!(parse_entries("100, 10_000,100").unwrap(), vec![100, 10_000]);
    let err = |s| parse_entries(s).unwrap_err().to_string();
    assert!(err("0").contains("zero entries"));
    assert!(err("ten").contains("not a whole number"));
    assert!(parse_entries(",").is_err());
}

#[test]
fn the_cli_parses_without_a_command_and_takes_the_registrys_names() {
    let cli = parse(&[
        "cachebench",
        "--quick",
        "--json",
        "--strategies",
        "lru,moka",
    ])
    .unwrap();
    assert!(cli.command.is_none() && cli.report.quick && cli.report.json);
    assert_eq!(cli.report.strategies, ["lru", "moka"]);
    assert!(parse(&["cachebench", "--bogus"]).is_err());
    let unknown = parse(&["cachebench", "--strategies", "lfu"])
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("possible values") && unknown.contains("ttlfifo"),
        "{unknown}"
    );
}

/// A server strategy whose server cannot be started here, with one option of its own.
#[derive(Debug, Default)]
struct NoServer {
    configured: std::sync::Mutex<Option<String>>,
}

impl crate::strategies::External for std::sync::Arc<NoServer> {
    fn ready(&self) -> Result<(), String> {
        Err("no server here; install it with --a-server PATH".to_owned())
    }
    fn counted_by(&self) -> Result<String, String> {
        self.ready().map(|()| String::new())
    }
    fn memory(&self, _settled: bool) -> Result<crate::strategies::ServerBytes, String> {
        self.ready().map(|()| unreachable!())
    }
    fn failures(&self) -> u64 {
        0
    }
    fn child_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn command_line(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(clap::Arg::new("a_server").long("a-server"))
    }
    fn configure(&self, matches: &clap::ArgMatches) -> Result<(), String> {
        *self.configured.lock().unwrap() = matches.get_one::<String>("a_server").cloned();
        Ok(())
    }
}

struct Baseline;

impl crate::strategies::Build for Baseline {
    fn build<
        K: crate::strategies::Key,
        V: crate::strategies::Value,
        C: crate::strategies::BenchClock,
    >(
        &self,
        _capacity: usize,
        clock: C,
    ) -> Box<dyn cache_core::ExpiringCache<K, V>> {
        Box::new(crate::strategies::HashMapBaseline::with_clock(clock))
    }
}

fn without_its_server() -> (Registry, std::sync::Arc<NoServer>) {
    let server = std::sync::Arc::new(NoServer::default());
    let registry = Registry::empty()
        .with(Registry::ours().require("ttlfifo").unwrap())
        .unwrap()
        .with(
            Strategy::new("shared", "a server strategy", Baseline)
                .unbounded()
                .external_memory(std::sync::Arc::clone(&server)),
        )
        .unwrap();
    (registry, server)
}

#[test]
fn a_server_strategy_without_its_server_is_left_out_unless_named() {
    let (registry, _) = without_its_server();
    let (chosen, left_out) = choose(&registry, &[], Servers::Measured, 0).unwrap();
    let names: Vec<_> = chosen.iter().map(Strategy::name).collect();
    assert_eq!(names, ["ttlfifo"]);
    assert_eq!(left_out.len(), 1);
    assert_eq!(left_out[0].strategy, "shared");
    assert!(left_out[0].why.contains("install it"), "{left_out:?}");

    let named = choose(&registry, &["shared".to_owned()], Servers::Measured, 0)
        .unwrap_err()
        .to_string();
    assert!(
        named.contains("shared cannot be measured") && named.contains("--a-server"),
        "{named}"
    );
    let only = choose(&registry, &["ttlfifo".to_owned()], Servers::Measured, 0).unwrap();
    assert!(
        only.1.is_empty(),
        "a strategy not asked for is not reported as left out"
    );
}

#[test]
fn replays_leave_server_strategies_out_without_touching_the_server() {
    let (registry, _) = without_its_server();
    let (chosen, left_out) = choose(&registry, &[], Servers::LeftOut, 0).unwrap();
    assert_eq!(chosen.len(), 1);
    assert!(left_out[0].why.contains("round trips"), "{left_out:?}");
    let named = choose(&registry, &["shared".to_owned()], Servers::LeftOut, 0).unwrap_err();
    assert!(named.to_string().contains("round trips"), "{named}");
}

/// The command line names no strategy: a server strategy's options come from the registry,
/// reach it before anything is measured, and are refused by commands that measure no server.
#[test]
fn a_server_strategys_own_options_come_from_the_registry_and_reach_it() {
    let (registry, server) = without_its_server();
    for args in [
        &["cachebench", "--a-server", "x", "--strategies", "shared"][..],
        &[
            "cachebench",
            "plan",
            "--a-server",
            "x",
            "--strategies",
            "shared",
        ][..],
    ] {
        *server.configured.lock().unwrap() = None;
        let err = run(&registry, args.iter().map(OsString::from)).unwrap_err();
        assert_eq!(
            server.configured.lock().unwrap().as_deref(),
            Some("x"),
            "{args:?}: {err}"
        );
    }
    let help = command(&registry).render_long_help().to_string();
    assert!(help.contains("--a-server"), "{help}");
    let ours = command(&Registry::ours());
    assert!(
        ours.clone()
            .try_get_matches_from(["cachebench", "--a-server", "x"])
            .is_err(),
        "another registry's options are not taken"
    );
    assert!(
        ours.try_get_matches_from(["cachebench", "trace", "f", "--redis-url", "redis://x"])
            .is_err(),
        "trace measures no server and takes no server option"
    );
}

/// A server strategy's options are added to `report` and `plan` with clap's `augment_args`,
/// which also sets the command's description to the options' own doc comment: `--help` once
/// described the program, `report` and `plan` as "The command line's options for the
/// `memcached` strategy". Each command keeps its own description, whatever the registry.
#[test]
fn a_server_strategys_options_leave_every_commands_description_as_it_was() {
    let text = |c: &clap::Command| {
        (
            c.get_about().map(ToString::to_string),
            c.get_long_about().map(ToString::to_string),
        )
    };
    let bare = Cli::command();
    let full = command(&Registry::ours());
    assert_eq!(text(&full), text(&bare), "the program's description");
    for sub in ["report", "plan", "trace", "bench-table"] {
        let find = |c: &clap::Command| {
            c.find_subcommand(sub)
                .map(text)
                .unwrap_or_else(|| panic!("{sub}"))
        };
        assert_eq!(find(&full), find(&bare), "{sub}'s description");
    }
    let help = full.clone().render_help().to_string();
    assert!(
        help.starts_with("Measures what each cache strategy"),
        "{help}"
    );
}
