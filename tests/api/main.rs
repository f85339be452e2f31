//! End-to-end tests: the real `kontor` server on a random port, spoken to over HTTP.
//! Runs on SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` is set.

#[macro_use]
mod cluster;
mod accounting;
mod api_clients;
mod auth;
mod billing_flows;
mod bookings;
mod bookings_batch;
mod browser;
mod capacity;
mod catalog;
mod company;
mod contracts;
mod custom_fields;
mod customers;
mod datev;
mod expenses;
mod helpdesk;
mod helpers;
mod invoice_concurrency;
mod invoice_documents;
mod invoice_pdf;
mod invoice_runs;
mod invoices;
mod mail;
mod metrics;
mod money_format;
mod operations;
mod principal_cache;
mod process;
mod project_report;
mod projects;
mod proof_of_service;
mod proof_pdf;
mod rates;
mod reports;
mod run_jobs;
mod settlements;
mod smtp_server;
mod teams;
mod tickets;
mod users;
mod webhook_cluster;
mod webhooks;
mod work_orders;
