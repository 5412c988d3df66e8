//! Completes a service's generated OpenAPI document with the answers every
//! endpoint can give whatever its handler says: the body extractor's 400,
//! 413 and 422, the bearer check's 401 and the per-user limit's 429, the 404
//! of an id that names nothing, and the 503 of a dependency that is down.
//!
//! Why here and not on each handler: these answers come from shared code
//! (`majlis_errors::Json`, `AuthUser`, the host's path config, the pools), so
//! one place adds them, and a document can never forget one of them again
//! (schemathesis checks that every status a server sends is documented).

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Ref, Type};
use utoipa::openapi::{Content, OpenApi, RefOr};

/// The tag of `/healthz`, `/readyz` and `/metrics`: their answers are their own.
pub const OPS_TAG: &str = "ops";

/// Adds the shared answers to every operation of `doc` that can give them.
pub fn complete(mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        let path_params = has_path_params(item.parameters.as_deref());
        for op in operations(item) {
            complete_operation(op, path_params);
        }
    }
    doc
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn has_path_params(params: Option<&[RefOr<utoipa::openapi::path::Parameter>]>) -> bool {
    params.is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path))
    })
}

fn complete_operation(op: &mut Operation, item_path_params: bool) {
    if op
        .tags
        .as_ref()
        .is_some_and(|tags| tags.iter().any(|t| t == OPS_TAG))
    {
        return;
    }
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let with_body = op.request_body.is_some();
    let path_params = item_path_params || has_path_params(op.parameters.as_deref());
    let mut add = |status: &str, description: &str, retry_after: bool| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description, retry_after)));
    };
    if with_body {
        add(
            "400",
            "malformed body: not JSON, not UTF-8, empty, or not an object",
            false,
        );
        add("413", "the body is over the limit", false);
        add(
            "422",
            "a field is missing or invalid; `error.field` names it",
            false,
        );
    }
    if secured {
        add("401", "no, invalid, expired or revoked token", false);
        add(
            "429",
            "over the per-user request limit; see Retry-After",
            true,
        );
    }
    if path_params {
        add(
            "404",
            "no such resource, or one the caller may not see",
            false,
        );
    }
    add(
        "503",
        "a dependency is unavailable; retry after Retry-After",
        true,
    );
}

fn error_response(description: &str, retry_after: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            Header::new(ObjectBuilder::new().schema_type(Type::Integer)),
        );
    }
    response.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, PathItem};
    use utoipa::openapi::request_body::RequestBody;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    fn statuses(doc: &OpenApi, path: &str, method: HttpMethod) -> Vec<String> {
        let item = doc.paths.paths.get(path);
        let op = item.and_then(|i| match method {
            HttpMethod::Get => i.get.as_ref(),
            HttpMethod::Post => i.post.as_ref(),
            _ => None,
        });
        op.map(|o| o.responses.responses.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_secured_operation_with_a_body_and_an_id_gets_every_shared_answer() {
        let op = OperationBuilder::new()
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .request_body(Some(RequestBody::new()))
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path),
            )
            .response("201", Response::new("made"))
            .build();
        let doc = complete(
            OpenApiBuilder::new()
                .paths(
                    PathsBuilder::new().path("/things/{id}", PathItem::new(HttpMethod::Post, op)),
                )
                .build(),
        );
        assert_eq!(
            statuses(&doc, "/things/{id}", HttpMethod::Post),
            ["201", "400", "401", "404", "413", "422", "429", "503"]
        );
    }

    #[test]
    fn answers_a_handler_documents_itself_are_kept() {
        let op = OperationBuilder::new()
            .response("503", Response::new("the handler's own words"))
            .build();
        let doc = complete(
            OpenApiBuilder::new()
                .paths(PathsBuilder::new().path("/x", PathItem::new(HttpMethod::Get, op)))
                .build(),
        );
        let kept = doc
            .paths
            .paths
            .get("/x")
            .and_then(|i| i.get.as_ref())
            .and_then(|o| o.responses.responses.get("503"));
        assert!(matches!(kept, Some(RefOr::T(r)) if r.description == "the handler's own words"));
    }

    #[test]
    fn ops_endpoints_are_left_as_they_are() {
        let op = OperationBuilder::new()
            .tag(OPS_TAG)
            .response("200", Response::new("alive"))
            .build();
        let doc = complete(
            OpenApiBuilder::new()
                .paths(PathsBuilder::new().path("/healthz", PathItem::new(HttpMethod::Get, op)))
                .build(),
        );
        assert_eq!(statuses(&doc, "/healthz", HttpMethod::Get), ["200"]);
    }
}
