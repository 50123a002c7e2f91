"""local_api.dynalite: starting dynalite from node_modules and creating the shared table."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from handlers import contract
from local_api.dynalite import Dynalite, DynaliteError, admin_client, ensure_table
from tests.service.support import new_table


def test_the_table_has_the_infrastructure_key_schema(dynalite: Dynalite) -> None:
    table = new_table(dynalite.endpoint_url)
    described = admin_client(dynalite.endpoint_url).describe_table(TableName=table)["Table"]
    expected = contract.create_table_request(table)
    assert described["KeySchema"] == expected["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        expected["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    (index,) = described["GlobalSecondaryIndexes"]
    (expected_index,) = expected["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.LIST_INDEX_NAME
    assert index["KeySchema"] == expected_index["KeySchema"]
    assert index["Projection"] == expected_index["Projection"]


def test_ensure_table_is_idempotent(dynalite: Dynalite) -> None:
    name = "epochs-idempotent-create"
    assert ensure_table(dynalite.endpoint_url, name) is True
    assert ensure_table(dynalite.endpoint_url, name) is False


def test_missing_node_modules_says_to_run_npm_ci(tmp_path: Path) -> None:
    with pytest.raises(DynaliteError, match="run `npm ci`"):
        Dynalite(tmp_path / "data", node_modules=tmp_path / "node_modules").start()


def test_a_chosen_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(DynaliteError, match=f"port {port} is already in use"):
            Dynalite(tmp_path / "data", port=port).start()


def test_a_data_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(DynaliteError, match="data folder"):
        Dynalite(not_a_folder / "data").start()


def test_a_data_folder_in_use_by_another_dynalite_is_a_clear_error(dynalite: Dynalite) -> None:
    assert dynalite.data_dir is not None
    with pytest.raises(DynaliteError, match="another dynalite") as caught:
        Dynalite(dynalite.data_dir).start()
    if Path("/proc").is_dir():
        assert f"(process {dynalite.pid}) holds it" in str(caught.value)
    # The session's server is unharmed.
    assert admin_client(dynalite.endpoint_url).list_tables(Limit=1)["ResponseMetadata"]


def test_data_survives_a_restart_on_the_same_port(tmp_path: Path) -> None:
    server = Dynalite(tmp_path / "data")
    with server:
        ensure_table(server.endpoint_url, "survivor")
        client = admin_client(server.endpoint_url)
        client.put_item(TableName="survivor", Item={contract.HASH_KEY: {"S": "kept"}})
        port = server.port
    assert not server.running
    with server:
        assert server.port == port
        item = admin_client(server.endpoint_url).get_item(
            TableName="survivor", Key={contract.HASH_KEY: {"S": "kept"}}
        )
    assert item["Item"] == {contract.HASH_KEY: {"S": "kept"}}
