package dev.kotodama.web;

import java.util.ArrayList;
import java.util.List;

import org.springframework.http.server.PathContainer;
import org.springframework.http.server.RequestPath;

/**
 * A request's path as the router matches it (Spring's {@link PathContainer}: each segment decoded and
 * without its {@code ;} parameters), normalized: empty segments ({@code //}) and {@code .} dropped,
 * {@code ..} resolved.
 *
 * @param value the normalized path, {@code /} joined
 * @param canonical whether the router sees the same path: nothing was dropped or resolved and no
 *     segment holds a decoded {@code /} or {@code \}, and it does not end with {@code /}
 */
record RoutedPath(String value, boolean canonical) {

    /** @throws ApiException (400) when a segment is not valid percent-encoding or {@code ..} climbs above the root */
    static RoutedPath of(RequestPath path) {
        List<String> segments = new ArrayList<>();
        boolean canonical = true;
        boolean afterSeparator = false;
        try {
            for (PathContainer.Element element : path.pathWithinApplication().elements()) {
                if (element instanceof PathContainer.PathSegment segment) {
                    afterSeparator = false;
                    String name = segment.valueToMatch();
                    if (name.equals("..")) {
                        if (segments.isEmpty()) {
                            throw invalid(path, "it climbs above the root with '..'");
                        }
                        segments.remove(segments.size() - 1);
                        canonical = false;
                    }
                    else if (name.equals(".") || name.isEmpty()) {
                        canonical = false;
                    }
                    else {
                        canonical &= name.indexOf('/') < 0 && name.indexOf('\\') < 0;
                        segments.add(name);
                    }
                }
                else {
                    canonical &= !afterSeparator;
                    afterSeparator = true;
                }
            }
        }
        catch (IllegalArgumentException ex) {
            throw invalid(path, "it is not valid percent-encoding");
        }
        canonical &= !(afterSeparator && !segments.isEmpty()); // a trailing slash
        return new RoutedPath("/" + String.join("/", segments), canonical);
    }

    private static ApiException invalid(RequestPath path, String why) {
        return ApiException.invalid(null, "the request path " + path.value() + " cannot be read: " + why);
    }
}
