"""The body sent to API Gateway: derived from handlers/openapi.json without what REST API
import does not support, with every operation of the contract still in it."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from epoch_constructs.region_frontend.openapi import (
    GATEWAY_RESPONSES_KEY,
    HTTP_METHODS,
    OPENAPI_PATH,
    UNSUPPORTED_GATEWAY_RESPONSES,
    UNSUPPORTED_KEYWORDS,
    UNSUPPORTED_NUMBER_FORMATS,
    ContractMismatchError,
    api_definition,
    import_compatible,
    load_openapi,
)
from handlers import contract

ARNS = {function: f"arn:aws:lambda:{function}" for function in contract.FUNCTION_HANDLERS}
# What AWS lists as unsupported in REST API import and the service's document uses.
USED_IN_THE_DOCUMENT = {"nullable", "default"}


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) for every key of every object, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, f"{path}/{index}")


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    target: Any = document
    for part in ref[2:].split("/"):
        target = target[part]
    return target


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return api_definition(load_openapi(), ARNS)


def test_the_document_uses_what_import_does_not_support() -> None:
    # Otherwise the checks below prove nothing about the derivation.
    document = load_openapi()
    keys = {key for _, key, _ in walk(document)}
    assert keys >= USED_IN_THE_DOCUMENT
    refs = {value for _, key, value in walk(document) if key == "$ref"}
    assert any(ref.startswith("#/components/responses/") for ref in refs)


def test_no_unsupported_keyword_anywhere_in_the_body(body: dict[str, Any]) -> None:
    found = [
        f"{path}/{key}"
        for path, key, value in walk(body)
        if key in UNSUPPORTED_KEYWORDS
        or (key == "format" and value in UNSUPPORTED_NUMBER_FORMATS)
        or (key == "$ref" and not str(value).startswith("#/components/schemas/"))
    ]
    assert found == []
    assert set(body["components"]) == {"schemas"}


def test_request_too_large_is_not_customized(body: dict[str, Any]) -> None:
    responses = body[GATEWAY_RESPONSES_KEY]
    assert not UNSUPPORTED_GATEWAY_RESPONSES & set(responses)
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"} <= set(responses)


def test_every_ref_resolves(body: dict[str, Any]) -> None:
    refs = [value for _, key, value in walk(body) if key == "$ref"]
    assert refs
    for ref in refs:
        target = resolve(body, ref)
        assert isinstance(target, dict), ref
        assert target, ref


def test_every_operation_of_the_contract_is_still_there(body: dict[str, Any]) -> None:
    document = load_openapi()
    for route in contract.ROUTES:
        operation = body["paths"][route.path][route.method.lower()]
        original = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        assert operation["x-amazon-apigateway-integration"]["uri"] == ARNS[route.function]
        # Same answers: inlined, not dropped.
        assert set(operation["responses"]) == set(original["responses"])
        for status, response in operation["responses"].items():
            assert response.get("description"), (route.path, status)
        assert [p["name"] for p in operation.get("parameters", [])] == [
            resolve(document, p["$ref"])["name"] if "$ref" in p else p["name"]
            for p in original.get("parameters", [])
        ]
    documented = {
        (path, method)
        for path, item in body["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert documented == {(r.path, r.method.lower()) for r in contract.ROUTES}


def test_inlined_responses_keep_their_schema_and_headers(body: dict[str, Any]) -> None:
    document = load_openapi()
    route = contract.ROUTE_LIST
    original = document["paths"][route.path]["get"]["responses"]
    derived = body["paths"][route.path]["get"]["responses"]
    forbidden = resolve(document, original["403"]["$ref"])
    assert derived["403"]["content"] == forbidden["content"]
    retry_after = resolve(document, original["503"]["headers"]["Retry-After"]["$ref"])
    assert derived["503"]["headers"]["Retry-After"] == retry_after


def test_the_document_served_to_clients_is_unchanged(body: dict[str, Any]) -> None:
    on_disk = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert load_openapi() == on_disk
    page = on_disk["components"]["schemas"]["RegistrationPage"]
    assert page["properties"]["next"]["nullable"] is True
    assert (
        body["components"]["schemas"]["RegistrationPage"]["properties"]["next"]
        != (page["properties"]["next"])
    )


def test_user_named_entries_are_not_mistaken_for_keywords() -> None:
    # A property or response called "default" is a name, not the keyword.
    document = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {"default": {"description": "any other answer"}},
                    "parameters": [
                        {"name": "n", "in": "query", "schema": {"type": "integer", "default": 3}}
                    ],
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {"default": {"type": "number", "format": "int32"}},
                    "example": {"default": 1},
                }
            }
        },
    }
    derived = import_compatible(document)
    operation = derived["paths"]["/x"]["get"]
    assert operation["responses"] == {"default": {"description": "any other answer"}}
    assert operation["parameters"][0]["schema"] == {"type": "integer"}
    assert derived["components"]["schemas"]["Thing"] == {
        "type": "object",
        "properties": {"default": {"type": "number"}},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["paths"]["/health"]["get"]["responses"].update(
                {"418": {"$ref": "#/components/responses/Teapot"}}
            ),
            "#/components/responses/Teapot does not resolve",
        ),
        (
            lambda d: d["components"]["schemas"].update(
                {"Either": {"oneOf": [{"$ref": "#/components/schemas/Error"}]}}
            ),
            "oneOf with a $ref is not supported",
        ),
        (
            lambda d: (
                d["components"]["responses"].update(
                    {"Loop": {"$ref": "#/components/responses/Loop"}}
                )
                or d["paths"]["/health"]["get"]["responses"].update(
                    {"418": {"$ref": "#/components/responses/Loop"}}
                )
            ),
            "#/components/responses/Loop refers to itself",
        ),
    ],
)
def test_what_cannot_be_derived_is_one_clear_error(change: Any, message: str) -> None:
    document = copy.deepcopy(load_openapi())
    change(document)
    with pytest.raises(ContractMismatchError) as caught:
        api_definition(document, ARNS)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_path_parameter_behind_a_ref_reaches_the_any_method() -> None:
    document = copy.deepcopy(load_openapi())
    item = document["paths"]["/getEpoch/{id}"]
    (parameter,) = [p for p in item["get"]["parameters"] if p.get("in") == "path"]
    document["components"]["parameters"]["RegistrationIdPath"] = parameter
    item["get"]["parameters"] = [
        {"$ref": "#/components/parameters/RegistrationIdPath"} if p is parameter else p
        for p in item["get"]["parameters"]
    ]
    body = api_definition(document, ARNS)
    any_method = body["paths"]["/getEpoch/{id}"]["x-amazon-apigateway-any-method"]
    assert [p["name"] for p in any_method["parameters"]] == [parameter["name"]]


def test_a_path_whose_routes_name_different_functions_is_a_synth_time_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A DELETE on /getEpoch/{id} served by a function of its own: the path's ANY
    # method (405s) could go to only one of them, so synthesis refuses it.
    delete = contract.Route("DELETE", "/getEpoch/{id}", "deleteEpoch", "delete")
    monkeypatch.setattr(contract, "ROUTES", (*contract.ROUTES, delete))
    with pytest.raises(ContractMismatchError) as caught:
        api_definition(copy.deepcopy(load_openapi()), {**ARNS, "delete": "arn:delete"})
    assert str(caught.value) == (
        "handlers/contract.py: the routes of /getEpoch/{id} name different functions "
        "(delete, read); one path is served by one function: give the new operation a path "
        "of its own"
    )
