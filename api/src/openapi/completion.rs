//! Makes the OpenAPI document as strict as the server, in one place instead of in every
//! handler's annotation: the problem responses every operation can give (401 and 403 for
//! secured operations, 409 for secured writes, 400/413/415/422 for operations with a body,
//! 400 for query parameters, 404 for path parameters, 400 and 412 with `If-Match`, 422 for a
//! bad cursor), the bounds of the shared parameters (`limit`, `If-Match`,
//! `Idempotency-Key`, dates), and a description for every operation. A handler's own entry
//! for a status wins over the shared one.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Object, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Completes every operation of `doc` (see the module documentation) and marks every
/// object schema without declared properties as a free-form map
/// (`additionalProperties: true`: custom fields, audit states, event payloads), so that
/// generated clients type `{"km": 42}` as a map of values, not as an empty object.
pub fn complete(doc: &mut OpenApi) {
    if let Some(components) = doc.components.as_mut() {
        for schema in components.schemas.values_mut() {
            free_form_maps(schema);
        }
    }
    for item in doc.paths.paths.values_mut() {
        if let Some(op) = item.get.as_mut() {
            complete_operation(op, false);
        }
        for op in [&mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
            complete_operation(op, true);
        }
    }
}

fn complete_operation(op: &mut Operation, write: bool) {
    if op.description.is_none() {
        op.description = op.summary.clone();
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |pin: ParameterIn, name: &str| {
        params.iter().any(|p| p.parameter_in == pin && p.name.eq_ignore_ascii_case(name))
    };
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let (if_match, cursor) = (has(ParameterIn::Header, "If-Match"), has(ParameterIn::Query, "cursor"));
    let body = op.request_body.is_some();
    let secured = op.security.as_ref().is_none_or(|reqs| {
        reqs.iter()
            .any(|r| serde_json::to_value(r).ok().and_then(|v| v.as_object().map(|o| !o.is_empty())) == Some(true))
    });

    let mut add = |status: &str, description: &str| {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description));
    };
    if body || has_query || if_match {
        add(
            "400",
            "Malformed request: invalid JSON (with line and column), a query parameter of the wrong type, \
             or an `If-Match` that is no entity-tag",
        );
    }
    if secured {
        add("401", "No credentials, or an invalid, expired or revoked access token or API key");
        add("403", "The credential lacks the role or scope for this operation (checked before the body)");
    }
    if has_path {
        add("404", "No such resource");
    }
    if write && secured {
        add(
            "409",
            "Conflicts with the current state: a duplicate, an archived resource or parent, or a document or \
             status that no longer allows the change (`detail` says which)",
        );
    }
    if if_match {
        add("412", "`If-Match` names another version: the resource changed since it was read; nothing changed");
    }
    if body {
        add("413", "The request body is larger than the server accepts");
        add("415", "The request body is not `application/json`");
    }
    if body || cursor {
        add("422", "Validation failed: `errors` names each field (`invalid_cursor` for a cursor of another list)");
    }

    for p in op.parameters.iter_mut().flatten() {
        bound_parameter(p);
        if let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() {
            business_date(o);
        }
    }
}

/// Sets `additionalProperties: true` on object schemas without properties, at any depth.
fn free_form_maps(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            let is_object = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::Object,
                SchemaType::Array(ts) => ts.contains(&Type::Object),
                SchemaType::AnyValue => false,
            };
            if is_object && o.properties.is_empty() && o.additional_properties.is_none() {
                o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            }
            business_date(o);
            for p in o.properties.values_mut() {
                free_form_maps(p);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                free_form_maps(items);
            }
        }
        Schema::OneOf(c) => c.items.iter_mut().for_each(free_form_maps),
        Schema::AllOf(c) => c.items.iter_mut().for_each(free_form_maps),
        Schema::AnyOf(c) => c.items.iter_mut().for_each(free_form_maps),
        _ => {}
    }
}

/// The server's one rule for dates ([`crate::dto::business_date`]): `YYYY-MM-DD` in the
/// years 1900–2999, as a pattern on every `format: date` string.
const BUSINESS_DATE_PATTERN: &str = "^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

fn business_date(o: &mut Object) {
    if o.format == Some(SchemaFormat::KnownFormat(KnownFormat::Date)) && o.pattern.is_none() {
        o.pattern = Some(BUSINESS_DATE_PATTERN.into());
    }
}

/// A problem+json response.
fn problem(description: &str) -> RefOr<Response> {
    let content = utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
}

/// The server's bounds on the parameters every list or POST shares.
fn bound_parameter(p: &mut Parameter) {
    match (p.parameter_in.clone(), p.name.to_ascii_lowercase().as_str()) {
        (ParameterIn::Query, "limit") => {
            let mut o = Object::with_type(Type::Integer);
            o.format = Some(SchemaFormat::KnownFormat(KnownFormat::Int32));
            o.minimum = Some(1.0.into());
            o.maximum = Some(f64::from(crate::pagination::MAX_LIMIT).into());
            o.default = Some(crate::pagination::DEFAULT_LIMIT.into());
            p.schema = Some(RefOr::T(Schema::Object(o)));
            p.description.get_or_insert_with(|| {
                format!(
                    "Page size, 1 to {} (default {})",
                    crate::pagination::MAX_LIMIT,
                    crate::pagination::DEFAULT_LIMIT
                )
            });
        }
        (ParameterIn::Header, "if-match") => {
            let mut o = Object::with_type(Type::String);
            // `*`, or entity-tags (quoted, no spaces or quotes inside) separated by commas.
            o.pattern =
                Some(r#"^(\*|[ \t]*(W/)?"[\x21\x23-\x7E]*"([ \t]*,[ \t]*(W/)?"[\x21\x23-\x7E]*")*[ \t]*)$"#.into());
            p.schema = Some(RefOr::T(Schema::Object(o)));
        }
        (ParameterIn::Header, "idempotency-key") => {
            let mut o = Object::with_type(Type::String);
            o.min_length = Some(1);
            o.max_length = Some(255);
            // What the server accepts: visible ASCII (a header value), 1 to 255 characters.
            o.pattern = Some("^[\\t\\x20-\\x7E]+$".into());
            p.schema = Some(RefOr::T(Schema::Object(o)));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_documents_its_problems_and_a_description() {
        let doc = crate::openapi::document();
        for (path, item) in &doc.paths.paths {
            for (method, op) in
                [("get", &item.get), ("post", &item.post), ("patch", &item.patch), ("delete", &item.delete)]
            {
                let Some(op) = op else { continue };
                assert!(op.description.is_some(), "{method} {path} has a description");
                let codes: Vec<&str> = op.responses.responses.keys().map(String::as_str).collect();
                if op.request_body.is_some() {
                    for c in ["400", "413", "415", "422"] {
                        assert!(codes.contains(&c), "{method} {path} documents {c}: {codes:?}");
                    }
                }
                // Public operations (login, a webhook signed by its sender) say `security: [{}]`.
                let public = op.security.as_ref().is_some_and(|reqs| {
                    reqs.iter().all(|r| {
                        serde_json::to_value(r).ok().and_then(|v| v.as_object().map(|o| o.is_empty())) == Some(true)
                    })
                });
                if path.starts_with("/api/v1/") && !path.starts_with("/api/v1/auth/") && !public {
                    assert!(codes.contains(&"401") && codes.contains(&"403"), "{method} {path}: {codes:?}");
                }
            }
        }
    }
}
