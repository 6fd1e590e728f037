namespace Stepcast.Grains.Scenarios;

/// <summary>One thing wrong with a scenario; <see cref="Path"/> is a JSON path in the camelCase shape, e.g. <c>$.steps[3].next</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ValidationProblem([property: Id(0)] string Path, [property: Id(1)] string Message);
