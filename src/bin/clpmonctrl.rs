fn main() -> std::process::ExitCode {
    clp::cli::main::<clp::cli::clpmonctrl::Args>()
}
