//! The `zkafka` binary: the broker and every tool, one subcommand each, named
//! after Kafka's scripts (`zkafka kafka-topics ...`). The scripts in `bin/`
//! exec it under Kafka's script names.

use std::process::ExitCode;

const USAGE: &str = "\
USAGE: zkafka <command> [args...]

Commands (each also available as bin/<command>.sh):
  kafka-server-start <server.properties> [--override key=value]...
  kafka-topics            create, list, describe topics
  kafka-console-producer  write lines from stdin to a topic
  kafka-console-consumer  print records of a topic
  kafka-consumer-groups   list, describe, delete consumer groups and reset their offsets
  kafka-dump-log          print the contents of segment and index files
  kafka-acls              add, remove and list ACLs (broker or ZooKeeper)
  kafka-delete-records    delete records of partitions below given offsets
  kafka-leader-election   elect preferred or unclean leaders on demand
  kafka-preferred-replica-election  move leadership back to the preferred replicas (deprecated)
  kafka-log-dirs          describe the brokers' log directories and the replicas in them
  kafka-configs           describe and change topic, broker, user, client and broker-logger configs
  kafka-reassign-partitions  move partition replicas between brokers and log directories

Run `zkafka <command> --help` for the command's options.";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    }
    let command = args.remove(1);
    // Tools log quietly unless asked; the broker logs at info.
    let default_level = if command == "kafka-server-start" { "info" } else { "warn" };
    // Levels can change at run time (broker-loggers, Kafka's Log4jController).
    zkafka::log4j_controller::init(default_level);
    let code = match command.trim_end_matches(".sh") {
        "kafka-server-start" => zkafka::server::kafka_server::main(args),
        "kafka-topics" => zkafka::tools::topics::main(args),
        "kafka-console-producer" => zkafka::tools::console_producer::main(args),
        "kafka-console-consumer" => zkafka::tools::console_consumer::main(args),
        "kafka-consumer-groups" => zkafka::tools::consumer_groups::main(args),
        "kafka-dump-log" => zkafka::tools::dump_log::main(args),
        "kafka-delete-records" => zkafka::tools::delete_records::main(args),
        "kafka-acls" => zkafka::tools::acls::main(args),
        "kafka-leader-election" => zkafka::tools::leader_election::main(args),
        "kafka-preferred-replica-election" => zkafka::tools::preferred_replica_election::main(args),
        "kafka-log-dirs" => zkafka::tools::log_dirs::main(args),
        "kafka-configs" => zkafka::tools::configs::main(args),
        "kafka-reassign-partitions" => zkafka::tools::reassign_partitions::main(args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            0
        }
        other => {
            eprintln!("zkafka: unknown command '{other}'\n\n{USAGE}");
            1
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
