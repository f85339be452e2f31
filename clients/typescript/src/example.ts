// A typed example client for the Kontor API, as a SPA would write it.
//
// It only has to type-check (`npm run check` compiles it with `tsc --strict --noEmit`);
// nothing here runs against a server. The explicit annotations (`const net: string = …`)
// are the point: if openapi.yaml typed a field differently, or as `unknown`, the
// compiler would reject this file.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type KontorClient = Client<paths>;
export type Problem = Schemas["Problem"];

/** Thrown for every non-2xx answer: the RFC 9457 problem document and the HTTP status. */
export class KontorError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.type}: ${problem.detail ?? problem.title}`);
  }
}

function fail(response: Response, problem: Problem): never {
  // Typed access to the problem document: `type` is the stable slug
  // (`urn:kontor:problem:<slug>`), `errors` the per-field errors of a 422.
  const slug: string = problem.type;
  const fields: string[] = (problem.errors ?? []).map((e) => `${e.field}: ${e.code}`);
  void slug, fields;
  throw new KontorError(response.status, problem);
}

/** `POST /api/v1/auth/login`: e-mail and password for a short-lived access token. */
export async function login(baseUrl: string, email: string, password: string): Promise<Schemas["TokenResponse"]> {
  const anonymous = createClient<paths>({ baseUrl });
  const { data, error, response } = await anonymous.POST("/api/v1/auth/login", {
    body: { email, password },
  });
  if (error !== undefined) fail(response, error);
  const accessToken: string = data.access_token;
  const refreshToken: string = data.refresh_token;
  const expiresIn: number = data.expires_in;
  return { ...data, access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn };
}

/** A client that sends the access token (or an API key `ktr_…`) as a bearer token. */
export function authorizedClient(baseUrl: string, token: string): KontorClient {
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** `GET /api/v1/customers`, one page: `limit` (1–200) and the previous page's `next_cursor`. */
export async function customerPage(
  client: KontorClient,
  limit: number,
  cursor: string | null,
): Promise<Schemas["CustomerList"]> {
  const { data, error, response } = await client.GET("/api/v1/customers", {
    params: { query: { limit, cursor, status: "active", sort: "name" } },
  });
  if (error !== undefined) fail(response, error);
  return data;
}

/**
 * Every customer: keyset pagination, passing each page's `next_cursor` as `cursor` (with
 * the same filters) until `next_cursor` is `null`.
 */
export async function* allCustomers(client: KontorClient, pageSize = 200): AsyncGenerator<Schemas["CustomerOut"]> {
  let cursor: string | null = null;
  do {
    const page: Schemas["CustomerList"] = await customerPage(client, pageSize, cursor);
    for (const customer of page.items) {
      const id: number = customer.id;
      const currency: string = customer.currency;
      const mode: "period_end" | "immediate" = customer.billing_mode;
      void id, currency, mode;
      yield customer;
    }
    const next: string | null | undefined = page.next_cursor;
    cursor = next ?? null;
  } while (cursor !== null);
}

/** The first page only, to show the page shape. */
export async function firstCustomerPage(
  baseUrl: string,
  token: string,
): Promise<{ items: Schemas["CustomerOut"][]; nextCursor: string | null }> {
  const { data, error, response } = await authorizedClient(baseUrl, token).GET("/api/v1/customers", {
    params: { query: { limit: 50 } },
  });
  if (error !== undefined) fail(response, error);
  return { items: data.items, nextCursor: data.next_cursor ?? null };
}

/**
 * `POST /api/v1/bookings` with an `Idempotency-Key`: retrying with the same key and body
 * replays the first answer instead of booking twice. Returns the booking and its ETag.
 */
export async function createBooking(
  client: KontorClient,
  booking: Schemas["BookingCreate"],
  idempotencyKey: string = crypto.randomUUID(),
): Promise<{ booking: Schemas["BookingOut"]; etag: string | null; replayed: boolean }> {
  const { data, error, response } = await client.POST("/api/v1/bookings", {
    params: { header: { "Idempotency-Key": idempotencyKey } },
    body: booking,
  });
  if (error !== undefined) fail(response, error);
  const rateOverride: string | null | undefined = data.rate_override; // a decimal string, never a number
  const minutes: number = data.duration_minutes;
  void rateOverride, minutes;
  return {
    booking: data,
    etag: response.headers.get("ETag"),
    replayed: response.headers.get("Idempotent-Replayed") === "true",
  };
}

/** An example booking: 90 minutes of a service on a ticket, price as a decimal string. */
export const exampleBooking: Schemas["BookingCreate"] = {
  work_date: "2026-03-02",
  duration_minutes: 90,
  service_id: 1,
  ticket_id: 4711,
  description: "Replaced the firewall's power supply",
  rate_override: "110.00",
};

/**
 * `POST /api/v1/invoice-runs` with `mode: "preview"`: the invoices a run would create and
 * what blocks it, without writing anything. Returns every proposal's totals as strings.
 */
export async function previewInvoiceRun(
  client: KontorClient,
  periodEnd: string,
): Promise<{ preview: Schemas["RunPreview"]; totals: { customerId: number; net: string; vat: string; gross: string }[] }> {
  const request: Schemas["RunRequest"] = { mode: "preview", scope: "all", period_end: periodEnd, limit: 50 };
  const { data, error, response } = await client.POST("/api/v1/invoice-runs", { body: request });
  if (error !== undefined) fail(response, error);
  // 200 is the preview (RunPreview), 201 a committed run (InvoiceRunOut): tell them apart by shape.
  if (!("customers" in data)) {
    throw new Error(`expected a preview, got committed run ${data.id}`);
  }
  const preview: Schemas["RunPreview"] = data;
  const committable: boolean = preview.committable;
  void committable;
  const totals = preview.customers.flatMap((customer) =>
    customer.proposals.map((proposal) => {
      const net: string = proposal.totals.net;
      const vat: string = proposal.totals.vat;
      const gross: string = proposal.totals.gross;
      for (const line of proposal.lines) {
        const unitPrice: string = line.unit_price;
        const lineNet: string = line.net;
        const quantity: string = line.quantity;
        const vatRate: string = line.vat_rate;
        void unitPrice, lineNet, quantity, vatRate;
      }
      for (const perRate of proposal.vat) {
        const rate: string = perRate.rate;
        const rateNet: string = perRate.net;
        const rateVat: string = perRate.vat;
        void rate, rateNet, rateVat;
      }
      return { customerId: customer.customer_id, net, vat, gross };
    }),
  );
  for (const customer of preview.customers) {
    for (const problem of customer.problems) {
      const code: Schemas["ProblemCode"] = problem.code;
      void code;
    }
  }
  return { preview, totals };
}

/** `GET /api/v1/invoices/{id}`: the invoice's totals as strings, and its ETag. */
export async function invoiceTotals(
  client: KontorClient,
  id: number,
): Promise<{ net: string; vat: string; gross: string; currency: string; etag: string | null }> {
  const { data: invoice, error, response } = await client.GET("/api/v1/invoices/{id}", {
    params: { path: { id } },
  });
  if (error !== undefined) fail(response, error);
  const net: string = invoice.totals.net;
  const vat: string = invoice.totals.vat;
  const gross: string = invoice.totals.gross;
  // `lines` is absent only with `GET /invoices?fields=summary`; a single invoice has it.
  const firstLine = (invoice.lines ?? [])[0]; // noUncheckedIndexedAccess: possibly undefined
  const lineCount: number = invoice.line_count;
  // What the invoice settles, billed or not (`treatment`: billed, covered, non_billable, …).
  const treatments: string[] = (invoice.positions ?? []).map((p) => p.treatment);
  void lineCount, treatments;
  if (firstLine !== undefined) {
    const lineNo: number = firstLine.line_no; // InvoiceLineOut = InvoiceLine & { id, line_no }
    const unitPrice: string = firstLine.unit_price;
    const lineNet: string = firstLine.net;
    void lineNo, unitPrice, lineNet;
  }
  return { net, vat, gross, currency: invoice.currency, etag: response.headers.get("ETag") };
}

/**
 * `PATCH /api/v1/invoices/{id}` with `If-Match`: the ETag of the version the user edited.
 * A 412 means someone changed the invoice meanwhile: reload and let the user decide.
 */
export async function updateInvoiceNotes(
  client: KontorClient,
  id: number,
  etag: string,
  notes: string | null,
): Promise<{ invoice: Schemas["InvoiceOut"]; etag: string | null } | { conflict: Problem }> {
  const { data, error, response } = await client.PATCH("/api/v1/invoices/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { notes },
  });
  if (error !== undefined) {
    if (response.status === 412) return { conflict: error };
    fail(response, error);
  }
  return { invoice: data, etag: response.headers.get("ETag") };
}

/** The whole flow in one place: log in, page customers, book, preview a run, read an invoice. */
export async function demo(baseUrl: string, email: string, password: string): Promise<string> {
  const tokens = await login(baseUrl, email, password);
  const client = authorizedClient(baseUrl, tokens.access_token);
  let customers = 0;
  for await (const customer of allCustomers(client)) {
    customers += customer.archived ? 0 : 1;
  }
  const { booking } = await createBooking(client, exampleBooking);
  const { totals } = await previewInvoiceRun(client, "2026-03-31");
  const first = totals[0];
  const invoice = await invoiceTotals(client, 1);
  return [
    `${customers} customers`,
    `booking ${booking.id}`,
    first === undefined ? "nothing to invoice" : `customer ${first.customerId}: gross ${first.gross}`,
    `invoice 1: ${invoice.net} + ${invoice.vat} = ${invoice.gross} ${invoice.currency}`,
  ].join("; ");
}
