using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Stepcast.Api.Management;

public enum AudienceFormat
{
    /// <summary><c>application/x-ndjson</c>: one JSON string (<c>"U…"</c>) or object (<c>{"lineUserId":"U…"}</c>) per line.</summary>
    Ndjson,
    /// <summary><c>text/csv</c>: the LINE user id in the first column; a header row (<c>lineUserId</c>, <c>userId</c>) is skipped.</summary>
    Csv,
}

/// <summary>
/// Reads an uploaded audience from the request body as it arrives, one row at a time, so an upload of millions of ids
/// never sits in memory. Blank lines are skipped; a row that is not an id comes out as written, to be counted as
/// invalid; a line longer than <see cref="MaxLineBytes"/> is dropped unread as one invalid row.
/// </summary>
public static class AudienceReader
{
    public const int MaxLineBytes = 1024;

    private const string TooLong = "(line too long)";

    public static async IAsyncEnumerable<string> ReadAsync(PipeReader reader, AudienceFormat format, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var firstRow = true;
        var skippingLongLine = false;
        var rows = new List<string>();
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            rows.Clear();
            while (TryTakeLine(ref buffer, out var line))
            {
                if (skippingLongLine)
                {
                    skippingLongLine = false;
                    continue;
                }

                if (Parse(line, format, ref firstRow) is { } row)
                {
                    rows.Add(row);
                }
            }

            if (result.IsCompleted)
            {
                if (!skippingLongLine && !buffer.IsEmpty && Parse(buffer, format, ref firstRow) is { } last)
                {
                    rows.Add(last);
                }

                buffer = buffer.Slice(buffer.End);
            }
            else if (buffer.Length > MaxLineBytes)
            {
                // No newline in sight: drop what came so far and the rest of the line when it arrives.
                if (!skippingLongLine)
                {
                    rows.Add(TooLong);
                }

                skippingLongLine = true;
                buffer = buffer.Slice(buffer.End);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            foreach (var row in rows)
            {
                yield return row;
            }

            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } newline)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, newline);
        buffer = buffer.Slice(buffer.GetPosition(1, newline));
        return true;
    }

    private static string? Parse(ReadOnlySequence<byte> bytes, AudienceFormat format, ref bool firstRow)
    {
        if (bytes.Length > MaxLineBytes)
        {
            return TooLong;
        }

        var text = Encoding.UTF8.GetString(bytes).Trim();
        if (text.Length == 0)
        {
            return null;
        }

        var isFirst = firstRow;
        firstRow = false;
        return format == AudienceFormat.Csv ? ParseCsv(text, isFirst) : ParseNdjson(text);
    }

    private static string? ParseCsv(string text, bool firstRow)
    {
        var comma = text.IndexOf(',', StringComparison.Ordinal);
        var field = (comma >= 0 ? text[..comma] : text).Trim();
        if (field.Length >= 2 && field[0] == '"' && field[^1] == '"')
        {
            field = field[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal).Trim();
        }

        var header = firstRow && (field.Equals("lineUserId", StringComparison.OrdinalIgnoreCase)
            || field.Equals("userId", StringComparison.OrdinalIgnoreCase)
            || field.Equals("line_user_id", StringComparison.OrdinalIgnoreCase));
        return header ? null : field;
    }

    private static string ParseNdjson(string text)
    {
        try
        {
            if (text[0] == '"')
            {
                return JsonSerializer.Deserialize<string>(text) ?? text;
            }

            if (text[0] == '{')
            {
                using var document = JsonDocument.Parse(text);
                return document.RootElement.TryGetProperty("lineUserId", out var id) && id.ValueKind == JsonValueKind.String
                    ? id.GetString()!
                    : text;
            }
        }
        catch (JsonException)
        {
            // Counted as an invalid id, like any other row that is not one.
        }

        return text;
    }
}
