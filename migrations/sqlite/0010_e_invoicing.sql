-- E-invoicing: the seller profile (one row), the profile frozen into each issued document
-- and the customers' e-invoice data (SQLite; keep
-- in step with migrations/postgres/0010_e_invoicing.sql).
CREATE TABLE seller_profile (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    profile    TEXT NOT NULL,      -- JSON: domain::company::SellerProfile
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
-- The seller profile as of issue (JSON), like customer_snapshot; NULL for drafts and for
-- documents issued before a profile existed.
ALTER TABLE invoices ADD COLUMN seller_snapshot TEXT;

-- What a customer's e-invoices carry: the buyer reference (BT-10, a public buyer's
-- Leitweg-ID), its electronic address (BT-49) with the address's scheme, and the document
-- format it prefers (pdf | zugferd | xrechnung_cii | isdoc).
ALTER TABLE customers ADD COLUMN buyer_reference TEXT;
ALTER TABLE customers ADD COLUMN e_invoice_address TEXT;
ALTER TABLE customers ADD COLUMN e_invoice_address_scheme TEXT;
ALTER TABLE customers ADD COLUMN document_format TEXT NOT NULL DEFAULT 'pdf';

-- The document format an accounting system acknowledged with the export, when it said.
ALTER TABLE invoices ADD COLUMN exported_format TEXT;

-- The buyer's order reference (purchase order number, BT-13) a draft names; kept when issued.
ALTER TABLE invoices ADD COLUMN order_reference TEXT;
