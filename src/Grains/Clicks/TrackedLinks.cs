using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Clicks;

/// <summary>
/// The links of a send step that click tracking replaces, numbered in one fixed order: each message in turn, its
/// properties in document order, counting every <c>uri</c> and <c>linkUri</c> value (uri actions of templates, flex
/// and imagemaps) and every http(s) URL inside a text message's <c>text</c>. Media URLs (<c>originalContentUrl</c>,
/// <c>previewImageUrl</c>, …) are never touched: LINE fetches those itself.
/// </summary>
public static partial class TrackedLinks
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The messages with link number <c>i</c> replaced by <paramref name="linkFor"/>(i).</summary>
    public static IReadOnlyList<LineMessage> Replace(IReadOnlyList<LineMessage> messages, Func<int, string> linkFor)
    {
        var index = 0;
        return [.. messages.Select(message => Rewrite(message, _ => linkFor(index++)))];
    }

    /// <summary>The original URL of link number <paramref name="linkIndex"/>, or null when there is no such link.</summary>
    public static string? Find(IReadOnlyList<LineMessage> messages, int linkIndex)
    {
        var index = 0;
        string? found = null;
        foreach (var message in messages)
        {
            Rewrite(message, url =>
            {
                if (index++ == linkIndex)
                {
                    found = url;
                }

                return url;
            });
        }

        return found;
    }

    private static LineMessage Rewrite(LineMessage message, Func<string, string> replace)
    {
        using var document = JsonDocument.Parse(message.Json);
        var isText = document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("type", out var type) && type.ValueEquals("text");
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(document.RootElement, writer, replace, isText, depth: 0);
        }

        return new LineMessage(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void Write(JsonElement element, Utf8JsonWriter writer, Func<string, string> replace, bool isText, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    if (property.Value.ValueKind == JsonValueKind.String && property.Name is "uri" or "linkUri"
                        && IsWebUrl(property.Value.GetString()!))
                    {
                        writer.WriteStringValue(replace(property.Value.GetString()!));
                    }
                    else if (property.Value.ValueKind == JsonValueKind.String && isText && depth == 0 && property.Name == "text")
                    {
                        writer.WriteStringValue(WebUrl().Replace(property.Value.GetString()!, match =>
                        {
                            // A sentence's full stop or comma right after a URL belongs to the sentence.
                            var url = match.Value.TrimEnd('.', ',', ';', ':', '!', '?', '。', '、');
                            return replace(url) + match.Value[url.Length..];
                        }));
                    }
                    else
                    {
                        Write(property.Value, writer, replace, isText, depth + 1);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(item, writer, replace, isText, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static bool IsWebUrl(string value) =>
        value.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    // Stops at whitespace and at the brackets and quotes that usually surround a URL in prose.
    [GeneratedRegex(@"https?://[^\s<>""'()\[\]「」（）]+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex WebUrl();
}
