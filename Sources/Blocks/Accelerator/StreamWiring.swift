import HDL

extension Instance {
    /// Connects stream `from` of `producer` (its `<from>_valid` and `<from>_<field>` outputs)
    /// to stream `to` of this instance, and this instance's `<to>_ready` back to the producer.
    func takeStream(_ to: String, from producer: Instance, _ from: String, fields: [String],
                    fileID: String = #fileID, line: Int = #line) {
        connect("\(to)_valid", producer.output("\(from)_valid", fileID: fileID, line: line), fileID: fileID, line: line)
        for f in fields {
            connect("\(to)_\(f)", producer.output("\(from)_\(f)", fileID: fileID, line: line), fileID: fileID, line: line)
        }
        producer.connect("\(from)_ready", output("\(to)_ready", fileID: fileID, line: line), fileID: fileID, line: line)
    }
}
