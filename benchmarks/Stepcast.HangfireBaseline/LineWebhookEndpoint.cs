using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Stepcast.HangfireBaseline;

/// <summary>
/// <c>POST /webhooks/line/{channelId}</c>: checks <c>x-line-signature</c> (HMAC-SHA256 of the body with the channel secret) and,
/// for each follow, schedules the restaurant scenario's three pushes as Hangfire jobs, then answers 200.
/// </summary>
public static class LineWebhookEndpoint
{
    private const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapLineWebhook(this IEndpointRouteBuilder app)
    {
        // The channel segment is ignored (one channel), so the harness posts to the same path as Stepcast's.
        app.MapPost("/webhooks/line/{channelId}", HandleAsync);
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, IBackgroundJobClient jobs, IOptions<BaselineOptions> options)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        var body = buffer.ToArray();
        if (!IsSigned(body, request.Headers["x-line-signature"].ToString(), options.Value.ChannelSecret))
        {
            return Results.Unauthorized();
        }

        using var document = JsonDocument.Parse(body);
        foreach (var lineEvent in document.RootElement.GetProperty("events").EnumerateArray())
        {
            if (lineEvent.GetProperty("type").GetString() == "follow"
                && lineEvent.GetProperty("source").TryGetProperty("userId", out var userId)
                && userId.GetString() is { } friend)
            {
                Schedule(jobs, friend, options.Value.WaitCompression);
            }
        }

        return Results.Ok();
    }

    private static void Schedule(IBackgroundJobClient jobs, string userId, double waitCompression)
    {
        for (var step = 0; step < RestaurantScenario.Steps.Count; step++)
        {
            var (after, text) = RestaurantScenario.Steps[step];
            var number = step;
            if (after == TimeSpan.Zero)
            {
                jobs.Enqueue<LinePushJob>(job => job.SendAsync(userId, number, text));
            }
            else
            {
                jobs.Schedule<LinePushJob>(job => job.SendAsync(userId, number, text), after / waitCompression);
            }
        }
    }

    private static bool IsSigned(byte[] body, string signature, string secret)
    {
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        Span<byte> given = stackalloc byte[64];
        return Convert.TryFromBase64String(signature, given, out var length)
            && length == expected.Length
            && CryptographicOperations.FixedTimeEquals(expected, given[..length]);
    }
}
