using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>campaign-upload</c> mode: one campaign whose audience of N LINE user ids is uploaded as NDJSON in a single
/// streamed request to <c>POST /api/v1/channels/bench/campaigns</c>, as an API client would. The ids are generated
/// while the body is sent, so neither side holds the list. Reports rows and enrollments per second and the memory of
/// the process that answers the upload (the embedded Api, or the Api in front of a silo on PostgreSQL) — whose growth
/// with N is what shows the upload is streamed — and of the process holding the grains.
/// </summary>
public static class CampaignUploadBenchmark
{
    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var count = args.Int("--count", 1_000_000);
        // Followers only (the default) answers "not a friend" for ids never seen: no friend rows are written.
        var followingOnly = !string.Equals(args.String("--following-only"), "false", StringComparison.OrdinalIgnoreCase);
        var maxSeconds = args.Int("--max-seconds", 1800);
        var json = args.String("--json");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds + 120));

        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"campaign-upload: topology {topology}, {count:N0} ids, followingOnly {followingOnly}, {Environment.ProcessorCount} cores; starting hosts…");
        await using var hosts = await BenchTopology.StartAsync(topology, BenchScenarios.Enroll, line.BaseUrl, withApi: true, args, stop.Token);
        var api = hosts.Processes.First(p => p.Name.StartsWith("api", StringComparison.Ordinal));
        var apiIdle = api.Memory();
        var grainsIdle = hosts.Silo.Memory();

        using var http = new HttpClient { BaseAddress = new Uri(hosts.ApiBaseUrl!), Timeout = Timeout.InfiniteTimeSpan };
        var campaigns = $"/api/v1/channels/{BenchTopology.ChannelId}/campaigns";
        var key = "bench-" + Guid.NewGuid().ToString("N")[..8];
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{campaigns}?scenarioId=bench-enroll&followingOnly={(followingOnly ? "true" : "false")}")
        {
            Content = new GeneratedAudience(count),
        };
        request.Headers.Add("Idempotency-Key", key);

        var clock = Stopwatch.StartNew();
        var uploading = http.SendAsync(request, stop.Token);
        var campaignUrl = $"{campaigns}/{CampaignId(key)}";
        long apiPeak = 0, grainsPeak = 0;
        JsonElement? last = null;
        while (!uploading.IsCompleted)
        {
            await Task.WhenAny(uploading, Task.Delay(1000, stop.Token));
            apiPeak = Math.Max(apiPeak, api.Memory().Rss);
            grainsPeak = Math.Max(grainsPeak, hosts.Silo.Memory().Rss);
            using var progress = await http.GetAsync(campaignUrl, stop.Token);
            if (progress.StatusCode == HttpStatusCode.OK)
            {
                last = await progress.Content.ReadFromJsonElementAsync(stop.Token);
                var accepted = last.Value.GetProperty("progress").GetProperty("accepted").GetInt64();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {clock.Elapsed.TotalSeconds,6:0.0} s  {accepted,10:N0} of {count:N0}  {accepted / clock.Elapsed.TotalSeconds,8:N0} rows/s  " +
                    $"Api RSS {api.Memory().Rss / 1048576} MB  grains RSS {hosts.Silo.Memory().Rss / 1048576} MB"));
            }
        }

        using var response = await uploading;
        var elapsed = clock.Elapsed.TotalSeconds;
        var body = await response.Content.ReadFromJsonElementAsync(stop.Token);
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"upload answered {(int)response.StatusCode}: {body}");
            return 1;
        }

        var result = body.GetProperty("progress");
        var rows = result.GetProperty("accepted").GetInt64();
        var enrolled = result.GetProperty("enrolled").GetInt64();
        var (apiRss, apiHwm) = api.Memory();
        var (grainsRss, grainsHwm) = hosts.Silo.Memory();
        apiPeak = Math.Max(apiPeak, apiHwm);
        grainsPeak = Math.Max(grainsPeak, grainsHwm);
        var separateApi = !ReferenceEquals(api, hosts.Silo);

        Console.WriteLine();
        Console.WriteLine($"campaign-upload, topology {topology}, followingOnly {followingOnly}: {(int)response.StatusCode} {body.GetProperty("status").GetString()}");
        Console.WriteLine("| topology | ids | followingOnly | s | rows/s | enrollments/s | progress | Api RSS idle → after (peak) | grains RSS idle → after (peak) |");
        Console.WriteLine("| --- | ---: | --- | ---: | ---: | ---: | --- | --- | --- |");
        var grainsColumn = separateApi
            ? string.Create(CultureInfo.InvariantCulture, $"{grainsIdle.Rss / 1048576} → {grainsRss / 1048576} MB ({grainsPeak / 1048576} MB)")
            : "same process";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {topology} | {count:N0} | {followingOnly} | {elapsed:0.0} | {rows / elapsed:N0} | {enrolled / elapsed:N0} | {result} | " +
            $"{apiIdle.Rss / 1048576} → {apiRss / 1048576} MB ({apiPeak / 1048576} MB) | {grainsColumn} |"));
        foreach (var process in hosts.Processes)
        {
            var problems = process.Problems();
            if (problems.Count > 0)
            {
                Console.WriteLine($"{process.Name} logged {problems.Count} warning/error line(s); the first: {problems[0]}");
            }
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "campaign-upload",
                topology,
                ids = count,
                followingOnly,
                seconds = elapsed,
                rowsPerSecond = rows / elapsed,
                enrollmentsPerSecond = enrolled / elapsed,
                progress = result,
                apiRssIdleBytes = apiIdle.Rss,
                apiRssBytes = apiRss,
                apiPeakRssBytes = apiPeak,
                grainsRssIdleBytes = grainsIdle.Rss,
                grainsRssBytes = grainsRss,
                grainsPeakRssBytes = grainsPeak,
                processorCount = Environment.ProcessorCount,
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    /// <summary>The campaign id the Api derives from an idempotency key (see CampaignIds in the engine).</summary>
    private static string CampaignId(string idempotencyKey) =>
        Stepcast.Grains.Campaigns.CampaignIds.For(BenchTopology.ChannelId, idempotencyKey);

    private static async Task<JsonElement> ReadFromJsonElementAsync(this HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        return document.RootElement.Clone();
    }

    /// <summary>N distinct, valid LINE user ids as NDJSON, written as the request is sent.</summary>
    private sealed class GeneratedAudience : HttpContent
    {
        private readonly int _count;

        public GeneratedAudience(int count)
        {
            _count = count;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var prefix = Guid.NewGuid().ToString("N")[..8];
            var batch = new StringBuilder();
            for (var i = 0; i < _count; i++)
            {
                batch.Append("\"U").Append(prefix).Append(i.ToString("x24", CultureInfo.InvariantCulture)).Append("\"\n");
                if (batch.Length >= 64 * 1024 || i == _count - 1)
                {
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(batch.ToString()));
                    batch.Clear();
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
