using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;

namespace Stepcast.LoadHarness;

/// <summary>
/// The baseline's counterpart of enrolling friends: <c>POST /enrollments</c> on the Hangfire app with 100 friend ids
/// a request, which schedules one push job per friend at the due time.
/// </summary>
public static class HangfireEnrollments
{
    private const int PerRequest = 100;

    public static DueRound.Enroller ThroughHttp(HttpClient http, string baseUrl) =>
        async (_, prefix, count, concurrency, outcomes, due, cancellationToken) =>
        {
            var next = -1;
            var batches = (count + PerRequest - 1) / PerRequest;
            var workers = Enumerable.Range(0, Math.Max(1, concurrency / 8)).Select(_ => Task.Run(async () =>
            {
                int batch;
                while (!cancellationToken.IsCancellationRequested && (batch = Interlocked.Increment(ref next)) < batches)
                {
                    var ids = Enumerable.Range(batch * PerRequest, Math.Min(PerRequest, count - batch * PerRequest))
                        .Select(index => prefix + index.ToString("x24", CultureInfo.InvariantCulture)).ToList();
                    string outcome;
                    try
                    {
                        using var response = await http.PostAsJsonAsync(
                            $"{baseUrl}/enrollments", new { userIds = ids, dueAt = due, text = "本日のおすすめです。 / Today's pick." }, cancellationToken);
                        outcome = response.IsSuccessStatusCode ? "Enrolled" : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                    }
                    catch (HttpRequestException exception)
                    {
                        outcome = exception.HttpRequestError.ToString();
                    }

                    outcomes?.AddOrUpdate(outcome, ids.Count, (_, n) => n + ids.Count);
                }
            }, CancellationToken.None));
            await Task.WhenAll(workers);
        };
}
