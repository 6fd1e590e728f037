namespace Stepcast.Grains.Scenarios;

/// <summary>One thing wrong with a scenario; <see cref="Path"/> is a JSON path in the camelCase shape, e.g. <c>$.steps[3].next</c>.</summary>
public sealed record ValidationProblem(string Path, string Message);
