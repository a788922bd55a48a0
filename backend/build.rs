// Re-embed migrations when they change, and embed the web app when it has
// been built (frontend/dist/index.html exists). Without it the server still
// builds and serves a placeholder page; no network, no npm here.
fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-changed=../frontend/dist");
    println!("cargo::rustc-check-cfg=cfg(ui_embedded)");
    if std::path::Path::new("../frontend/dist/index.html").exists() {
        println!("cargo::rustc-cfg=ui_embedded");
    }
}
