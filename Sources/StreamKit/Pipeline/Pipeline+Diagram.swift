import Foundation
import Synchronization

/// The formats in which a pipeline draws its graph.
public enum DiagramFormat: Sendable {
    /// Mermaid `flowchart`, rendered by GitHub and many wikis.
    case mermaid
    /// Graphviz `dot`.
    case graphviz
}

extension Pipeline {
    /// The pipeline's graph as a diagram: one box per source, operator and sink, solid arrows for
    /// main outputs and dashed, labelled arrows for the error and late side outputs.
    ///
    /// ```swift
    /// print(pipeline.diagram(.mermaid))
    /// ```
    public func diagram(_ format: DiagramFormat = .mermaid) -> String {
        let nodes = graph.withLock { $0.nodes }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "\"", with: "'")
        }
        func portLabel(_ port: Int) -> String? {
            switch port {
            case PortIndex.errors: return "errors"
            case PortIndex.late: return "late"
            default: return nil
            }
        }
        var lines: [String] = []
        switch format {
        case .mermaid:
            lines.append("flowchart LR")
            for node in nodes {
                let shape = node.role == .source ? ("[/", "/]") : node.role == .sink ? ("[\\", "\\]") : ("[", "]")
                lines.append("    n\(node.id)\(shape.0)\"\(escape(node.name))<br/>\(escape(node.label))\"\(shape.1)")
            }
            for node in nodes {
                for input in node.inputs {
                    if let label = portLabel(input.port) {
                        lines.append("    n\(input.node) -. \(label) .-> n\(node.id)")
                    } else {
                        lines.append("    n\(input.node) --> n\(node.id)")
                    }
                }
            }
        case .graphviz:
            lines.append("digraph \"\(escape(name))\" {")
            lines.append("    rankdir=LR;")
            lines.append("    node [shape=box, fontname=\"Helvetica\"];")
            for node in nodes {
                let shape = node.role == .source ? ", shape=invhouse" : node.role == .sink ? ", shape=house" : ""
                lines.append("    n\(node.id) [label=\"\(escape(node.name))\\n\(escape(node.label))\"\(shape)];")
            }
            for node in nodes {
                for input in node.inputs {
                    if let label = portLabel(input.port) {
                        lines.append("    n\(input.node) -> n\(node.id) [style=dashed, label=\"\(label)\"];")
                    } else {
                        lines.append("    n\(input.node) -> n\(node.id);")
                    }
                }
            }
            lines.append("}")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
