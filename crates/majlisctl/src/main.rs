//! majlisctl's process entry: the command line in, the exit code out.

fn main() {
    let code = actix_rt::System::new().block_on(async {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        let mut stdin = std::io::stdin().lock();
        majlisctl::run(
            std::env::args_os(),
            majlisctl::Io {
                out: &mut out,
                err: &mut err,
                stdin: &mut stdin,
            },
        )
        .await
    });
    std::process::exit(code);
}
