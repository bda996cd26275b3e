//! `vpbench models`: the registry.

use vpbench_models::registry::MODELS;

pub fn run() {
    println!("{:<12} {:<12} aliases", "name", "paper name");
    for entry in MODELS {
        println!(
            "{:<12} {:<12} {}",
            entry.name,
            entry.paper_name,
            entry.aliases.join(", ")
        );
    }
}
