// swift-tools-version: 6.1
// A package outside StreamKit that depends on it by path, as a user's package would depend on it by
// URL: CI builds and runs it to prove that StreamKit's public API is enough to build a pipeline.
import Foundation
import PackageDescription

// A path dependency is named after its folder, which is not always "StreamKit" (a CI clone may
// live anywhere): derive the name from this package's location.
let streamKitFolder = URL(fileURLWithPath: Context.packageDirectory)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [.product(name: "StreamKit", package: streamKitFolder)]
        )
    ]
)
