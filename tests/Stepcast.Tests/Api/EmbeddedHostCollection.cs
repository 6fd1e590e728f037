namespace Stepcast.Tests.Api;

/// <summary>
/// Test classes that start the embedded host. Its silo listens on the fixed localhost clustering ports, so two
/// hosts at once would fight over them: classes in this collection run one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class EmbeddedHostCollection
{
    public const string Name = "Embedded host";
}
