//! The integration tests: one binary (as ripgrep has), one module per area, all driving the
//! real `rolesanywhere-helper` binary against the local endpoint and real components (SoftHSM2,
//! swtpm, botocore, aws-sdk-rust, moto) through the one support module.

mod support;

mod aws_sdk_rust;
mod cache;
mod certificate_commands;
mod chaining;
mod command_line;
mod config_profile;
mod credential_process;
mod doctor;
mod enrollment;
mod export_exec;
mod fault_campaigns;
mod hostile_input;
mod key_backend_faults;
mod key_formats;
mod network_settings;
mod pkcs11;
mod renewal;
mod sdk_clients;
mod serve;
mod sigv4_test_suite;
mod sts;
mod tpm;
mod update;
mod wire_format;
