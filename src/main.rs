//! The `zkafka` binary: the broker and every tool, one subcommand each. The
//! scripts in `bin/` exec it under Kafka's script names.

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    eprintln!("zkafka: not yet wired");
    std::process::exit(1);
}
