import Foundation
@testable import TierModel

/// The design's matrix, transcribed as JSON (no tempBuffers, which the matrix file leaves out).
let appendixAJSON = """
{
  "FREE": {
    "postgres": { "maxConnections": 5, "poolMin": 2, "poolMax": 5, "queryTimeout": 10000,
      "connectionTimeout": 5000, "statementMemory": 67108864, "workMemory": 4194304,
      "sharedBuffers": 134217728, "maxParallelWorkers": 2 },
    "redis": { "maxMemory": 67108864, "maxKeys": 10000, "maxConnections": 5, "keyTTLMin": 3600000 },
    "mongodb": { "maxConnections": 5, "maxQueryTime": 10000, "maxMemory": 134217728, "maxDocsPerQuery": 100 },
    "compute": { "cpuLimit": 0.25, "memoryLimit": 536870912 },
    "lifecycle": { "idleTimeout": 300000, "scaleToZero": true, "coldStart": "2-5s" },
    "priority": "low"
  },
  "STARTER": {
    "postgres": { "maxConnections": 10, "poolMin": 5, "poolMax": 10, "queryTimeout": 30000,
      "connectionTimeout": 10000, "statementMemory": 134217728, "workMemory": 16777216,
      "sharedBuffers": 268435456, "maxParallelWorkers": 4 },
    "redis": { "maxMemory": 268435456, "maxKeys": 100000, "maxConnections": 10, "keyTTLMin": 3600000 },
    "mongodb": { "maxConnections": 10, "maxQueryTime": 30000, "maxMemory": 536870912, "maxDocsPerQuery": 1000 },
    "compute": { "cpuLimit": 0.5, "memoryLimit": 1073741824 },
    "lifecycle": { "idleTimeout": 900000, "scaleToZero": true, "coldStart": "1-2s" },
    "priority": "medium"
  },
  "PRO": {
    "postgres": { "maxConnections": 50, "poolMin": 10, "poolMax": 50, "queryTimeout": 60000,
      "connectionTimeout": 15000, "statementMemory": 268435456, "workMemory": 67108864,
      "sharedBuffers": 536870912, "maxParallelWorkers": 8 },
    "redis": { "maxMemory": 1073741824, "maxKeys": 1000000, "maxConnections": 50, "keyTTLMin": null },
    "mongodb": { "maxConnections": 50, "maxQueryTime": 60000, "maxMemory": 2147483648, "maxDocsPerQuery": 10000 },
    "compute": { "cpuLimit": 2, "memoryLimit": 4294967296 },
    "lifecycle": { "idleTimeout": null, "scaleToZero": false, "coldStart": "N/A" },
    "priority": "high"
  },
  "ENTERPRISE": {
    "postgres": { "maxConnections": 100, "poolMin": 20, "poolMax": 100, "queryTimeout": 120000,
      "connectionTimeout": 30000, "statementMemory": 536870912, "workMemory": 134217728,
      "sharedBuffers": 1073741824, "maxParallelWorkers": 16 },
    "redis": { "maxMemory": 4294967296, "maxKeys": 10000000, "maxConnections": 100, "keyTTLMin": null },
    "mongodb": { "maxConnections": 100, "maxQueryTime": 120000, "maxMemory": 8589934592, "maxDocsPerQuery": 100000 },
    "compute": { "cpuLimit": 4, "memoryLimit": 8589934592 },
    "lifecycle": { "idleTimeout": null, "scaleToZero": false, "coldStart": "N/A" },
    "priority": "critical"
  }
}
"""

extension JSONValue {
    /// A copy with the member at `path` replaced (`nil` removes it); test files are built by
    /// editing the matrix one field at a time.
    func setting(_ path: [String], to newValue: JSONValue?) -> JSONValue {
        guard let key = path.first, case .object(var object) = self else { return self }
        if path.count == 1 {
            object[key] = newValue
        } else {
            object[key] = (object[key] ?? .object([:])).setting(Array(path.dropFirst()), to: newValue)
        }
        return .object(object)
    }
}

/// The matrix with one edit, as file bytes.
func appendixA(setting path: String, to value: JSONValue?) -> Data {
    let base = try! JSONValue(parsing: appendixAJSON)
    return Data(base.setting(path.split(separator: ".").map(String.init), to: value).serialized.utf8)
}

func org(_ raw: String) -> OrgId { try! OrgId(raw) }
