fn main() -> std::process::ExitCode {
    clp::cli::main::<clp::cli::clprexec::Args>()
}
