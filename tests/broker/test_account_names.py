"""A node may not carry the name of an account or client the broker setup uses itself.

Usernames are client ids (``use_username_as_clientid``) and key the generated
credentials, env files and ACL blocks, so a node named like a service instance, a
bridge account or a bridge's client on its site broker would share it: measured before
this check, a node ``api-2`` got one password and two merged ``user api-2`` blocks with
the API's (a stolen Pi with every API right, and the two taking over each other's
session), and a mini-station node ``local-bridge-<site>`` kicked its site broker's
bridge off and wiped the events it had queued for the central broker.
"""

from __future__ import annotations

import pytest

from station.broker.gen import GenError, GenOptions, generate
from station.inventory import Inventory


def renamed(inventory: Inventory, old: str, new: str) -> Inventory:
    """The inventory with node ``old`` called ``new`` (an id appears quoted only as itself)."""
    text = inventory.model_dump_json()
    assert f'"{old}"' in text
    return Inventory.model_validate_json(text.replace(f'"{old}"', f'"{new}"'))


@pytest.mark.parametrize(("node", "name", "options"), [
    ("ls-salle-guichet", "api-2", {"apis": 2}),
    ("ls-salle-guichet", "collector", {}),
    ("ls-salle-guichet", "dashboard", {}),
    ("ls-salle-guichet", "bridge-mini-arques", {}),
    ("ls-salle-guichet", "api-3", {"apis": 2}),  # free today, the API's when a third instance comes
    ("arques-salle", "api", {}),  # a site broker's node: credentials and env files are shared with central's
    ("arques-porte", "local-bridge-mini-arques", {}),  # the bridge's own client on the site broker
])
def test_a_node_named_like_a_broker_account_is_refused(gen_root, inventory, node, name, options):
    with pytest.raises(GenError) as err:
        generate(renamed(inventory, node, name), gen_root / "b", GenOptions(**options))
    assert repr(name) in str(err.value) and "rename" in str(err.value)
    assert not (gen_root / "b" / "credentials.json").exists()  # refused before anything is written


def test_ordinary_node_names_are_accepted(gen_root, inventory):
    # Close to the reserved names without being one of them.
    inv = renamed(renamed(inventory, "ls-salle-guichet", "api-guichet"), "arques-porte", "bridge")
    result = generate(inv, gen_root / "b", GenOptions(apis=2))
    assert {"api-guichet", "bridge", "api-1", "api-2"} <= set(result.credentials)
