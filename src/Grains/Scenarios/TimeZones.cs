using System.Collections.Concurrent;

namespace Stepcast.Grains.Scenarios;

/// <summary>IANA zones looked up once per process: the lookup reads tzdata files.</summary>
public static class TimeZones
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Cache = new(StringComparer.Ordinal);

    public static TimeZoneInfo Get(string id) => Cache.GetOrAdd(id, TimeZoneInfo.FindSystemTimeZoneById);
}
