-- Host-group scoping of roles: a role with rows here sees and acts on only
-- the hosts in those groups; a role without rows is not scoped.
-- Keep in step with the other dialect's 0005_role_host_groups.sql.
CREATE TABLE role_host_groups (
    role TEXT NOT NULL REFERENCES role_permissions (role) ON DELETE CASCADE,
    host_group_id BLOB NOT NULL REFERENCES host_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (role, host_group_id)
);
CREATE INDEX role_host_groups_group ON role_host_groups (host_group_id);
