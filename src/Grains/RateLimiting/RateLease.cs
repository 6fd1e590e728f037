namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// Permits from a <see cref="IRateLimitGrain"/>: <see cref="Granted"/> requests may start between
/// <see cref="StartsIn"/> and <see cref="EndsIn"/> from when the grain answered. Times are relative so that silo
/// clocks need not agree with the grain's. With nothing granted, <see cref="StartsIn"/> says when to ask again.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RateLease(
    [property: Id(0)] int Granted,
    [property: Id(1)] TimeSpan StartsIn,
    [property: Id(2)] TimeSpan EndsIn);
