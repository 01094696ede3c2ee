/// How Postgres finds a setting (GUC) by name, as its `find_option` does: case does not
/// matter in ASCII letters only (`guc_name_compare`: `Work_Mem` is work_mem, a Kelvin sign
/// is no `k`), and an old name is its current one (`map_old_guc_names`). One place for it,
/// so the startup allowlist and the settings guard can never disagree on a name.
public enum GUCName {
    /// guc.c's `map_old_guc_names` (Postgres 15; 18 adds the last one): names Postgres still
    /// accepts for a GUC that was renamed.
    public static let oldNames: [String: String] = [
        "sort_mem": "work_mem",
        "vacuum_mem": "maintenance_work_mem",
        "ssl_ecdh_curve": "ssl_groups",
    ]

    /// The name Postgres looks `name` up by.
    public static func canonical(_ name: String) -> String {
        let lowered = String(decoding: name.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        return oldNames[lowered] ?? lowered
    }
}
