fn main() -> std::process::ExitCode {
    clp::cli::main::<clp::cli::clplogcc::Args>()
}
