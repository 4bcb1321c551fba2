"""The signed-in user's own delegations at ``/agents/``: see every agent, revoke any grant."""
