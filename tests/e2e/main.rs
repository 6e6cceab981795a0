//! One integration-test crate (one link) for every end-to-end test.

mod browser_flow;
mod cli_definition;
mod docs;
mod fault_matrix;
mod foundation_keyutils;
mod foundation_secret_service;
mod git_credential;
mod git_e2e;
mod in_process;
mod integrity;
mod interop_oidc_provider;
mod kube_credential;
mod kube_e2e;
mod lifecycle;
mod lifecycle_e2e;
mod login_e2e;
mod login_flows;
mod other_user;
mod provider_text;
mod proxies;
mod redaction;
mod revocation;
mod scripts_and_ci;
mod signals_crash;
mod support;
