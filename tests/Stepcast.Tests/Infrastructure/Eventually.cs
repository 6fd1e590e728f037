using System.Collections;
using System.Text.Json;

namespace Stepcast.Tests.Infrastructure;

/// <summary>Polling for state that settles asynchronously (stats flushes, campaign progress, background sends).</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Reads until <paramref name="done"/> holds and returns that value; fails the test if it does not hold within
    /// the patience. Never returns quietly at the deadline: a test going on with the last value would assert on a
    /// state it never waited for, and could pass for the wrong reason.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? patience = null)
    {
        var limit = patience ?? DefaultPatience;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"The condition did not hold within {limit.TotalSeconds:0} s; last value read: {Describe(value)}");
            await Task.Delay(50);
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        JsonElement json => json.GetRawText(),
        string text => text,
        IEnumerable items => $"[{string.Join(", ", items.Cast<object?>())}]",
        _ => value?.ToString() ?? "null",
    };
}
