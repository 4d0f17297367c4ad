//! The in-memory copy of the store and its indexes.
//!
//! Every record is loaded at open and kept here, so logins, policy derivation and
//! lookups never touch storage. The indexes are derived from the records (never stored
//! separately), so a write is one atomic storage operation and no index can drift from
//! the data it indexes.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{AliasRecord, EntityRecord, GroupRecord, name_key};

/// One change to persist and then apply.
pub(crate) enum Change {
    PutEntity(EntityRecord),
    DeleteEntity(String),
    PutGroup(GroupRecord),
    DeleteGroup(String),
}

#[derive(Default)]
pub(crate) struct State {
    pub entities: BTreeMap<String, EntityRecord>,
    /// Lower-cased entity name → entity id.
    entity_names: BTreeMap<String, String>,
    /// Alias id → entity id.
    alias_owner: BTreeMap<String, String>,
    /// (mount accessor, lower-cased alias name) → alias id.
    alias_factors: BTreeMap<(String, String), String>,
    pub groups: BTreeMap<String, GroupRecord>,
    /// Lower-cased group name → group id.
    group_names: BTreeMap<String, String>,
    /// Entity id → ids of the groups that list it directly.
    entity_groups: BTreeMap<String, BTreeSet<String>>,
    /// Group id → ids of the groups that name it as a parent (its member groups).
    group_children: BTreeMap<String, BTreeSet<String>>,
    /// Group alias id → group id.
    group_alias_owner: BTreeMap<String, String>,
    /// (mount accessor, lower-cased group alias name) → group alias id.
    group_alias_factors: BTreeMap<(String, String), String>,
}

impl State {
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::PutEntity(e) => self.put_entity(e),
            Change::DeleteEntity(id) => self.remove_entity(&id),
            Change::PutGroup(g) => self.put_group(g),
            Change::DeleteGroup(id) => self.remove_group(&id),
        }
    }

    pub fn put_entity(&mut self, e: EntityRecord) {
        self.remove_entity(&e.id);
        self.entity_names.insert(name_key(&e.name), e.id.clone());
        for a in &e.aliases {
            self.alias_owner.insert(a.id.clone(), e.id.clone());
            self.alias_factors
                .insert((a.mount_accessor.clone(), name_key(&a.name)), a.id.clone());
        }
        self.entities.insert(e.id.clone(), e);
    }

    fn remove_entity(&mut self, id: &str) {
        let Some(old) = self.entities.remove(id) else {
            return;
        };
        let key = name_key(&old.name);
        if self.entity_names.get(&key).is_some_and(|v| v == id) {
            self.entity_names.remove(&key);
        }
        for a in &old.aliases {
            self.alias_owner.remove(&a.id);
            let factors = (a.mount_accessor.clone(), name_key(&a.name));
            if self.alias_factors.get(&factors).is_some_and(|v| *v == a.id) {
                self.alias_factors.remove(&factors);
            }
        }
    }

    pub fn put_group(&mut self, g: GroupRecord) {
        self.remove_group(&g.id);
        self.group_names.insert(name_key(&g.name), g.id.clone());
        for e in &g.member_entity_ids {
            self.entity_groups
                .entry(e.clone())
                .or_default()
                .insert(g.id.clone());
        }
        for p in &g.parent_group_ids {
            self.group_children
                .entry(p.clone())
                .or_default()
                .insert(g.id.clone());
        }
        if let Some(a) = &g.alias {
            self.group_alias_owner.insert(a.id.clone(), g.id.clone());
            self.group_alias_factors
                .insert((a.mount_accessor.clone(), name_key(&a.name)), a.id.clone());
        }
        self.groups.insert(g.id.clone(), g);
    }

    fn remove_group(&mut self, id: &str) {
        let Some(old) = self.groups.remove(id) else {
            return;
        };
        let key = name_key(&old.name);
        if self.group_names.get(&key).is_some_and(|v| v == id) {
            self.group_names.remove(&key);
        }
        for e in &old.member_entity_ids {
            if let Some(set) = self.entity_groups.get_mut(e) {
                set.remove(id);
                if set.is_empty() {
                    self.entity_groups.remove(e);
                }
            }
        }
        for p in &old.parent_group_ids {
            if let Some(set) = self.group_children.get_mut(p) {
                set.remove(id);
                if set.is_empty() {
                    self.group_children.remove(p);
                }
            }
        }
        if let Some(a) = &old.alias {
            if self.group_alias_owner.get(&a.id).is_some_and(|g| g == id) {
                self.group_alias_owner.remove(&a.id);
            }
            let factors = (a.mount_accessor.clone(), name_key(&a.name));
            if self
                .group_alias_factors
                .get(&factors)
                .is_some_and(|v| *v == a.id)
            {
                self.group_alias_factors.remove(&factors);
            }
        }
    }

    /// The group that holds the group alias with this id.
    pub fn group_by_alias_id(&self, alias_id: &str) -> Option<&GroupRecord> {
        self.groups.get(self.group_alias_owner.get(alias_id)?)
    }

    /// The group whose alias is (mount accessor, name).
    pub fn group_by_alias_factors(&self, mount_accessor: &str, name: &str) -> Option<&GroupRecord> {
        let id = self
            .group_alias_factors
            .get(&(mount_accessor.to_owned(), name_key(name)))?;
        self.group_by_alias_id(id)
    }

    /// Every group that has an alias, ordered by alias id.
    pub fn aliased_groups(&self) -> impl Iterator<Item = &GroupRecord> {
        self.group_alias_owner
            .keys()
            .filter_map(|id| self.group_by_alias_id(id))
    }

    pub fn entity_by_name(&self, name: &str) -> Option<&EntityRecord> {
        self.entity_names
            .get(&name_key(name))
            .and_then(|id| self.entities.get(id))
    }

    pub fn group_by_name(&self, name: &str) -> Option<&GroupRecord> {
        self.group_names
            .get(&name_key(name))
            .and_then(|id| self.groups.get(id))
    }

    /// The alias with this id and its entity.
    pub fn alias_by_id(&self, alias_id: &str) -> Option<(&EntityRecord, &AliasRecord)> {
        let entity = self.entities.get(self.alias_owner.get(alias_id)?)?;
        let alias = entity.aliases.iter().find(|a| a.id == alias_id)?;
        Some((entity, alias))
    }

    /// The alias for (mount accessor, name) and its entity.
    pub fn alias_by_factors(
        &self,
        mount_accessor: &str,
        name: &str,
    ) -> Option<(&EntityRecord, &AliasRecord)> {
        let id = self
            .alias_factors
            .get(&(mount_accessor.to_owned(), name_key(name)))?;
        self.alias_by_id(id)
    }

    /// Every alias, ordered by id.
    pub fn aliases(&self) -> impl Iterator<Item = (&EntityRecord, &AliasRecord)> {
        self.alias_owner
            .keys()
            .filter_map(|id| self.alias_by_id(id))
    }

    /// Ids of the groups that list the entity directly.
    pub fn direct_group_ids(&self, entity_id: &str) -> Vec<String> {
        self.entity_groups
            .get(entity_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Ids of the groups that name `group_id` as a parent.
    pub fn member_group_ids(&self, group_id: &str) -> Vec<String> {
        self.group_children
            .get(group_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The entity's direct groups and the groups it inherits through them (ancestors not
    /// already direct), each sorted by id. The walk keeps a visited set, so cycles in
    /// stored data cannot loop.
    pub fn groups_of_entity(&self, entity_id: &str) -> (Vec<String>, Vec<String>) {
        let direct = self.direct_group_ids(entity_id);
        let mut visited: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = direct.clone();
        while let Some(id) = stack.pop() {
            if !visited.insert(id.clone()) {
                continue;
            }
            if let Some(g) = self.groups.get(&id) {
                stack.extend(
                    g.parent_group_ids
                        .iter()
                        .filter(|p| !visited.contains(*p))
                        .cloned(),
                );
            }
        }
        let direct_set: BTreeSet<&String> = direct.iter().collect();
        let inherited = visited
            .iter()
            .filter(|id| !direct_set.contains(id) && self.groups.contains_key(*id))
            .cloned()
            .collect();
        (direct, inherited)
    }

    /// Whether `target` is `start` or one of its member groups, at any depth.
    pub fn reaches_down(&self, start: &str, target: &str) -> bool {
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if id == target {
                return true;
            }
            if !visited.insert(id) {
                continue;
            }
            if let Some(children) = self.group_children.get(id) {
                stack.extend(children.iter().map(String::as_str));
            }
        }
        false
    }

    /// Entity policies and the policies of all its groups, direct and inherited; sorted,
    /// deduplicated.
    pub fn identity_policies(&self, entity_id: &str) -> Vec<String> {
        let Some(entity) = self.entities.get(entity_id) else {
            return Vec::new();
        };
        let (direct, inherited) = self.groups_of_entity(entity_id);
        let mut out: BTreeSet<String> = entity.policies.iter().cloned().collect();
        for id in direct.iter().chain(inherited.iter()) {
            if let Some(g) = self.groups.get(id) {
                out.extend(g.policies.iter().cloned());
            }
        }
        out.into_iter().collect()
    }
}
