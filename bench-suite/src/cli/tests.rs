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

/// A registry whose `redis` strategy has no server to start.
fn without_redis_server() -> Registry {
    let missing = redis::RedisOptions {
        server: Some("/nonexistent/redis-server".into()),
        ..redis::RedisOptions::default()
    };
    let target = std::sync::Arc::new(redis::RedisTarget::with_options(missing));
    Registry::empty()
        .with(Registry::ours().require("ttlfifo").unwrap())
        .unwrap()
        .with(redis::strategy(target))
        .unwrap()
}

#[test]
fn a_server_strategy_without_its_server_is_left_out_unless_named() {
    let registry = without_redis_server();
    let (chosen, left_out) = choose(&registry, &[], Servers::Measured).unwrap();
    let names: Vec<_> = chosen.iter().map(Strategy::name).collect();
    assert_eq!(names, ["ttlfifo"]);
    assert_eq!(left_out.len(), 1);
    assert_eq!(left_out[0].strategy, "redis");
    assert!(
        left_out[0].why.contains("apt-get install redis-server"),
        "{left_out:?}"
    );

    let named = choose(&registry, &["redis".to_owned()], Servers::Measured)
        .unwrap_err()
        .to_string();
    assert!(
        named.contains("redis cannot be measured") && named.contains("--redis-server"),
        "{named}"
    );
    let only = choose(&registry, &["ttlfifo".to_owned()], Servers::Measured).unwrap();
    assert!(
        only.1.is_empty(),
        "a strategy not asked for is not reported as left out"
    );
}

#[test]
fn replays_leave_server_strategies_out_without_touching_the_server() {
    let registry = without_redis_server();
    let (chosen, left_out) = choose(&registry, &[], Servers::LeftOut).unwrap();
    assert_eq!(chosen.len(), 1);
    assert!(left_out[0].why.contains("round trips"), "{left_out:?}");
    let named = choose(&registry, &["redis".to_owned()], Servers::LeftOut).unwrap_err();
    assert!(named.to_string().contains("round trips"), "{named}");
}

#[test]
fn a_url_without_leave_to_flush_is_refused_before_anything_is_measured() {
    assert!(
        parse(&["cachebench", "--redis-flush"]).is_err(),
        "--redis-flush needs --redis-url"
    );
    let refused = redis::strategy(std::sync::Arc::new(redis::RedisTarget::with_options(
        redis::RedisOptions {
            url: Some("redis://127.0.0.1:1/15".to_owned()),
            ..redis::RedisOptions::default()
        },
    )));
    let why = refused.ready().unwrap_err();
    assert!(why.contains("--redis-flush"), "{why}");
}
