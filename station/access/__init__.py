"""Access: the one authority's format for doors and machines — keys, signatures, grant
lists, versions, decisions and commands. The API issues, the nodes decide; both use
this package and nothing else signs or verifies.
"""

from .commands import command_problem
from .grants import (Decision, GrantIndex, booking_window, issue_grant_list, next_version, sorted_entries,
                     sorted_windows)
from .keys import (HMAC_KEY, NEXT_PUBLIC_KEY, PRIVATE_KEY, PUBLIC_KEY, KeyRing, KeySetPaths, NodeKeys, Signer,
                   generate_key_set, key_id, load_hmac_key, load_node_keys, load_private_key, load_public_key,
                   parse_hmac_key, paths_in, public_pem)
from .signing import MAX_CARD_NUMBER, SignatureError, canonical_bytes, hash_credential, sign, verify

__all__ = [
    "HMAC_KEY", "MAX_CARD_NUMBER", "NEXT_PUBLIC_KEY", "PRIVATE_KEY", "PUBLIC_KEY", "Decision", "GrantIndex", "KeyRing", "KeySetPaths",
    "NodeKeys", "SignatureError", "Signer", "booking_window", "canonical_bytes", "command_problem",
    "generate_key_set", "hash_credential", "issue_grant_list", "key_id", "load_hmac_key", "load_node_keys",
    "load_private_key", "load_public_key", "next_version", "parse_hmac_key", "paths_in", "public_pem", "sign",
    "sorted_entries", "sorted_windows", "verify",
]
