"""Users, roles and scope: who may see and change which area."""
