fn main() -> std::process::ExitCode {
    clp::cli::main::<clp::cli::clpalert::Args>()
}
