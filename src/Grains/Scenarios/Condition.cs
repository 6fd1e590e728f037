using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

/// <summary>A test on what is known of a friend, used by branch steps.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(AttributeCondition), "attribute")]
[JsonDerivedType(typeof(TagCondition), "tag")]
[JsonDerivedType(typeof(EventCondition), "event")]
[JsonDerivedType(typeof(KeywordCondition), "keyword")]
[JsonDerivedType(typeof(AllCondition), "all")]
[JsonDerivedType(typeof(AnyCondition), "any")]
[JsonDerivedType(typeof(NotCondition), "not")]
[GenerateSerializer, Immutable]
public abstract record Condition;

/// <summary>
/// Compares a friend attribute (gender, age, os, area, or any custom field). Numeric operators compare
/// as numbers; <c>eq</c>, <c>ne</c>, <c>in</c> and <c>contains</c> compare text case-insensitively.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AttributeCondition : Condition
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public AttributeOperator Op { get; init; } = AttributeOperator.Eq;
    [Id(2)] public string? Value { get; init; }
    [Id(3)] public ImmutableArray<string> Values { get; init; } = [];
}

[JsonConverter(typeof(JsonStringEnumConverter<AttributeOperator>))]
public enum AttributeOperator { Eq, Ne, In, Gt, Gte, Lt, Lte, Exists, Contains }

/// <summary>The friend has the tag.</summary>
[GenerateSerializer, Immutable]
public sealed record TagCondition : Condition
{
    [Id(0)] public required string Tag { get; init; }
}

/// <summary>The friend had the event, since entering this run when <see cref="SinceEntered"/> (default) or ever.</summary>
[GenerateSerializer, Immutable]
public sealed record EventCondition : Condition
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public bool SinceEntered { get; init; } = true;
}

/// <summary>The friend's latest text reply since entering this run matches a keyword.</summary>
[GenerateSerializer, Immutable]
public sealed record KeywordCondition : Condition
{
    [Id(0)] public ImmutableArray<string> Keywords { get; init; } = [];
    [Id(1)] public KeywordMatch Match { get; init; } = KeywordMatch.Exact;
}

[GenerateSerializer, Immutable]
public sealed record AllCondition : Condition
{
    [Id(0)] public ImmutableArray<Condition> Conditions { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record AnyCondition : Condition
{
    [Id(0)] public ImmutableArray<Condition> Conditions { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record NotCondition : Condition
{
    [Id(0)] public required Condition Condition { get; init; }
}
